"""The customer portal (`/`) and attachment downloads: thin views.

The agent desk lives in `views_desk.py`.

Every read goes through the selectors and `access_ticket` (a ticket the viewer may not
see is a 404, like a missing one); every write through a named service.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpline.accounts.models import User
from helpline.core.errors import DomainError, NotFound
from helpline.core.middleware import AuthenticatedRequest
from helpline.tickets import catalog, selectors, services
from helpline.tickets.access import access_ticket
from helpline.tickets.forms import (
    PortalReplyForm,
    RequestForm,
    category_choices,
    to_attachments,
)
from helpline.tickets.models import Status, Ticket
from helpline.tickets.selectors import TicketFilters

PAGE_SIZE = 25
ACTIVE = [status.value for status in Status if status in services.ACTIVE]
DONE = [Status.SOLVED.value, Status.CLOSED.value]


def _not_found(view: Callable[..., Any]) -> Callable[..., Any]:
    """Map the domain's NotFound to Django's 404 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


# --- attachments ----------------------------------------------------------------------------


@login_required
@_not_found
def attachment(request: AuthenticatedRequest, attachment_id: int) -> HttpResponseBase:
    item = selectors.attachment_for(actor=request.user, attachment_id=attachment_id)
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.filename,
        content_type=item.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- portal ---------------------------------------------------------------------------------

PORTAL_VIEWS: dict[str, tuple[Promise, list[str]]] = {
    "open": (gettext_lazy("Open"), ACTIVE),
    "solved": (gettext_lazy("Solved"), DONE),
    "all": (gettext_lazy("All"), []),
}


def customer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Portal views: sign-in required; staff are sent to the desk."""

    @login_required
    @_not_found
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_staff_member:
            if "ticket_id" in kwargs:
                return HttpResponseRedirect(
                    reverse("tickets:desk_ticket", args=[kwargs["ticket_id"]])
                )
            return HttpResponseRedirect(reverse("tickets:desk"))
        return view(request, *args, **kwargs)

    return wrapper


@customer_only
def portal_home(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    key = request.GET.get("view") or "open"
    if key not in PORTAL_VIEWS:
        raise Http404
    statuses = PORTAL_VIEWS[key][1]
    tickets = selectors.ticket_list(actor=actor, filters=TicketFilters(status=statuses))
    page = Paginator(tickets.order_by("-updated_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "area": "portal",
        "views": [(name, label) for name, (label, _s) in PORTAL_VIEWS.items()],
        "view": key,
        "page": page,
    }
    return render(request, "tickets/portal/list.html", context)


@customer_only
def portal_new(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    categories = category_choices(catalog.category_tree(actor=actor))
    form = RequestForm(request.POST or None, request.FILES or None, categories=categories)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            category = (
                catalog.access_category(actor, int(cleaned["category"]))
                if cleaned["category"]
                else None
            )
            ticket = services.ticket_create(
                actor=actor,
                subject=cleaned["subject"],
                body=cleaned["description"],
                category=category,
                attachments=to_attachments(cleaned["attachments"]),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Thank you. Your request #%(number)s is received.") % {"number": ticket.pk},
            )
            return HttpResponseRedirect(reverse("tickets:portal_request", args=[ticket.pk]))
    return render(request, "tickets/portal/new.html", {"form": form, "area": "new"})


def _portal_context(actor: User, ticket: Ticket, form: Any = None) -> dict[str, Any]:
    ticket = selectors.ticket_detail(ticket)
    closed = ticket.status == Status.CLOSED
    return {
        "area": "portal",
        "ticket": ticket,
        "thread": list(selectors.ticket_messages(actor=actor, ticket=ticket)),
        "form": form or PortalReplyForm(),
        "closed": closed,
        "can_solve": ticket.status in services.ACTIVE,
        "can_reopen": ticket.status == Status.SOLVED,
    }


@customer_only
def portal_request(request: AuthenticatedRequest, ticket_id: int) -> HttpResponse:
    actor = request.user
    ticket = access_ticket(actor, ticket_id)
    form = None
    if request.method == "POST":
        form = PortalReplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.ticket_reply(
                    actor=actor,
                    ticket=ticket,
                    body=form.cleaned_data["body"],
                    attachments=to_attachments(form.cleaned_data["attachments"]),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Your reply is sent."))
                return HttpResponseRedirect(reverse("tickets:portal_request", args=[ticket.pk]))
    return render(request, "tickets/portal/request.html", _portal_context(actor, ticket, form))


@customer_only
@require_POST
def portal_status(request: AuthenticatedRequest, ticket_id: int) -> HttpResponse:
    actor = request.user
    ticket = access_ticket(actor, ticket_id)
    target = request.POST.get("status")
    if target not in (Status.SOLVED, Status.OPEN):
        raise Http404
    try:
        services.ticket_change_status(actor=actor, ticket=ticket, status=target)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if target == Status.SOLVED:
            messages.success(request, _("Your request is marked as solved."))
        else:
            messages.success(request, _("Your request is reopened."))
    return HttpResponseRedirect(reverse("tickets:portal_request", args=[ticket.pk]))
