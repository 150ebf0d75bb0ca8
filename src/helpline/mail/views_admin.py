"""The desk's mailbox screens (`/desk/admin/mailboxes/`): list with status, create, edit.

Same access as the other admin screens: admins change things, supervisors read, other
agents get 403 and customers 404. Changes go through mail.services (validated, evented).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from helpline.accounts.models import Role
from helpline.core.forms import save_form
from helpline.core.middleware import AuthenticatedRequest
from helpline.mail import selectors, services
from helpline.mail.forms import MailboxForm
from helpline.mail.models import InboundEmail
from helpline.tickets.views_admin import SECTIONS, admin_area

TITLE = gettext_lazy("Mailboxes")


def _context(request: AuthenticatedRequest, **extra: Any) -> dict[str, Any]:
    return {
        "area": "desk",
        "desk_section": "admin",
        "sections": SECTIONS,
        "section": "mailboxes",
        "section_title": TITLE,
        "can_edit": request.user.role == Role.ADMIN,
        "states": selectors.COUNTED_STATES,
        **extra,
    }


@admin_area
def mailboxes(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    form = MailboxForm(request.POST or None, auto_id="mailbox-%s")
    if request.method == "POST":
        created = save_form(
            form, lambda: services.mailbox_create(actor=actor, **form.service_arguments())
        )
        if created is not None:
            messages.success(request, _("Mailbox added."))
            return HttpResponseRedirect(reverse("mail:admin_mailbox", args=[created.pk]))
    context = _context(request, rows=list(selectors.mailboxes_with_counts()), form=form)
    return render(request, "mail/admin/mailboxes.html", context)


@admin_area
def mailbox(request: AuthenticatedRequest, mailbox_id: int) -> HttpResponse:
    actor = request.user
    target = selectors.mailboxes_with_counts().filter(pk=mailbox_id).first()
    if target is None:
        raise Http404
    here = reverse("mail:admin_mailbox", args=[target.pk])
    action = request.POST.get("form", "settings") if request.method == "POST" else ""
    http_secret = ""
    if action == "replay":
        done = services.mailbox_replay_failed(actor=actor, mailbox=target)
        processed = InboundEmail.objects.filter(
            pk__in=done, state=InboundEmail.State.PROCESSED
        ).count()
        messages.success(
            request,
            ngettext(
                "Replayed %(count)d message; %(processed)d processed.",
                "Replayed %(count)d messages; %(processed)d processed.",
                len(done),
            )
            % {"count": len(done), "processed": processed},
        )
        return HttpResponseRedirect(here)
    if action == "http_secret":
        http_secret = services.mailbox_rotate_http_secret(actor=actor, mailbox=target)
    form = MailboxForm.for_mailbox(target, request.POST if action == "settings" else None)
    if action == "settings":
        saved = save_form(
            form,
            lambda: services.mailbox_update(
                actor=actor, mailbox=target, **form.service_arguments()
            ),
        )
        if saved is not None:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(here)
        target.refresh_from_db()
    context = _context(
        request,
        mailbox=target,
        form=form,
        http_secret=http_secret,
        rejections=selectors.recent_rejections(target),
        inbound_url=request.build_absolute_uri(
            reverse("api-v1:post_inbound", kwargs={"mailbox": str(target.pk)})
        ),
    )
    response = render(request, "mail/admin/mailbox.html", context)
    if http_secret:
        response["Cache-Control"] = "no-store"
    return response
