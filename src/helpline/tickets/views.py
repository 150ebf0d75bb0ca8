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
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from helpline.accounts import selfservice
from helpline.accounts.models import Role, User
from helpline.accounts.views import throttled, too_many
from helpline.core.errors import DomainError, NotFound
from helpline.core.middleware import AuthenticatedRequest
from helpline.routing import eta
from helpline.tickets import catalog, selectors, services
from helpline.tickets.access import access_ticket
from helpline.tickets.forms import (
    PortalReplyForm,
    RequestForm,
    VisitorRequestForm,
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
    return _download(selectors.attachment_for(actor=request.user, attachment_id=attachment_id))


def _download(item: Any) -> HttpResponseBase:
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
    "open": (pgettext_lazy("requests filter", "Open"), ACTIVE),
    "solved": (pgettext_lazy("requests filter", "Solved"), DONE),
    "all": (pgettext_lazy("requests filter", "All"), []),
}


def _staff_to_desk(request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponse | None:
    user = request.user
    if not (user.is_authenticated and user.is_staff_member):
        return None
    if "ticket_id" in kwargs:
        return HttpResponseRedirect(reverse("tickets:desk_ticket", args=[kwargs["ticket_id"]]))
    return HttpResponseRedirect(reverse("tickets:desk"))


def customer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Portal views: sign-in required; staff are sent to the desk."""

    @login_required
    @_not_found
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _staff_to_desk(request, kwargs) or view(request, *args, **kwargs)

    return wrapper


def sees_organization(user: User) -> bool:
    org = user.organization
    return bool(org is not None and org.members_see_all_tickets and user.see_organization_tickets)


def portal_home(request: HttpRequest) -> HttpResponse:
    """Signed in: my requests (and my organization's, when allowed). Else the welcome page."""
    if not request.user.is_authenticated:
        return render(request, "tickets/portal/welcome.html", {"area": "portal"})
    return _portal_list(request)


@customer_only
def _portal_list(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    key = request.GET.get("view") or "open"
    if key not in PORTAL_VIEWS:
        raise Http404
    organization = sees_organization(actor)
    scope = request.GET.get("scope") or ("all" if organization else "mine")
    if scope not in ("mine", "all") or (scope == "all" and not organization):
        scope = "mine"
    filters = TicketFilters(
        status=PORTAL_VIEWS[key][1], requester=actor.pk if scope == "mine" else None
    )
    tickets = selectors.ticket_list(actor=actor, filters=filters)
    page = Paginator(tickets.order_by("-updated_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "area": "portal",
        "views": [(name, label) for name, (label, _s) in PORTAL_VIEWS.items()],
        "view": key,
        "scope": scope,
        "organization": actor.organization if organization else None,
        "page": page,
    }
    return render(request, "tickets/portal/list.html", context)


def _category(actor: User, value: str) -> Any:
    return catalog.access_category(actor, int(value)) if value else None


def portal_new(request: HttpRequest) -> HttpResponse:
    """Submit a request: signed in, or as a visitor with a contact e-mail address."""
    redirect = _staff_to_desk(request, {})
    if redirect is not None:
        return redirect
    user = request.user if isinstance(request.user, User) else None
    reader = user or User(role=Role.CUSTOMER)  # visitors see what customers see
    categories = category_choices(catalog.category_tree(actor=reader))
    form_class = RequestForm if user is not None else VisitorRequestForm
    form = form_class(request.POST or None, request.FILES or None, categories=categories)
    context = {"form": form, "area": "new"}
    if request.method == "POST" and user is None:
        # Each request from a visitor sends an e-mail to the address given: rate-limited.
        wait = throttled(request, "visitor", request.POST.get("email", ""))
        if wait is not None:
            return too_many(request, "tickets/portal/new.html", context, wait)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            category = _category(reader, cleaned["category"])
            attachments = to_attachments(cleaned["attachments"])
            if user is None:
                ticket = selfservice.visitor_request_create(
                    email=cleaned["email"],
                    name=cleaned["name"],
                    subject=cleaned["subject"],
                    body=cleaned["description"],
                    category=category,
                    attachments=attachments,
                )
            else:
                ticket = services.ticket_create(
                    actor=user,
                    subject=cleaned["subject"],
                    body=cleaned["description"],
                    category=category,
                    attachments=attachments,
                )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if user is None:
                context = {"area": "new", "number": ticket.pk, "email": cleaned["email"]}
                return render(request, "tickets/portal/received.html", context)
            messages.success(
                request,
                _("Thank you. Your request #%(number)s is received.") % {"number": ticket.pk},
            )
            return HttpResponseRedirect(reverse("tickets:portal_request", args=[ticket.pk]))
    return render(request, "tickets/portal/new.html", context)


def _portal_context(
    actor: User, ticket: Ticket, form: Any = None, follow_token: str = ""
) -> dict[str, Any]:
    ticket = selectors.ticket_detail(ticket)
    allowed = services.CUSTOMER_TRANSITIONS.get(ticket.status, frozenset())
    if follow_token:
        base = reverse("tickets:portal_follow", args=[ticket.pk, follow_token])
        reply_url = status_url = base
    else:
        reply_url = reverse("tickets:portal_request", args=[ticket.pk])
        status_url = reverse("tickets:portal_status", args=[ticket.pk])
    return {
        "area": "portal",
        "ticket": ticket,
        "thread": list(selectors.ticket_messages(actor=actor, ticket=ticket)),
        "form": form or PortalReplyForm(),
        "closed": ticket.status == Status.CLOSED,
        "can_solve": Status.SOLVED in allowed,
        "can_reopen": Status.OPEN in allowed,
        "follow_token": follow_token,
        "reply_url": reply_url,
        "status_url": status_url,
        "queue": eta.queue_place(ticket),
    }


def _reply(request: HttpRequest, actor: User, ticket: Ticket) -> tuple[Any, bool]:
    """Post the customer's reply; (the form, whether it was sent)."""
    form = PortalReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return form, False
    try:
        services.ticket_reply(
            actor=actor,
            ticket=ticket,
            body=form.cleaned_data["body"],
            attachments=to_attachments(form.cleaned_data["attachments"]),
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return form, False
    messages.success(request, _("Your reply is sent."))
    return form, True


def _change_status(request: HttpRequest, actor: User, ticket: Ticket) -> None:
    target = request.POST.get("status") or ""
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


@customer_only
def portal_request(request: AuthenticatedRequest, ticket_id: int) -> HttpResponse:
    actor = request.user
    ticket = access_ticket(actor, ticket_id)
    form = None
    if request.method == "POST":
        form, sent = _reply(request, actor, ticket)
        if sent:
            return HttpResponseRedirect(reverse("tickets:portal_request", args=[ticket.pk]))
    return render(request, "tickets/portal/request.html", _portal_context(actor, ticket, form))


@customer_only
@require_POST
def portal_status(request: AuthenticatedRequest, ticket_id: int) -> HttpResponse:
    actor = request.user
    ticket = access_ticket(actor, ticket_id)
    _change_status(request, actor, ticket)
    return HttpResponseRedirect(reverse("tickets:portal_request", args=[ticket.pk]))


@_not_found
def portal_follow(request: HttpRequest, ticket_id: int, token: str) -> HttpResponseBase:
    """One request, opened with the signed link e-mailed to its requester (no password).
    POST with `status` solves or reopens it; other POSTs are replies."""
    requester = selfservice.follow_requester(ticket_id=ticket_id, token=token)
    ticket = access_ticket(requester, ticket_id)
    url = reverse("tickets:portal_follow", args=[ticket.pk, token])
    form = None
    if request.method == "POST":
        if "status" in request.POST:
            _change_status(request, requester, ticket)
            return HttpResponseRedirect(url)
        form, sent = _reply(request, requester, ticket)
        if sent:
            return HttpResponseRedirect(url)
    context = _portal_context(requester, ticket, form, follow_token=token)
    return render(request, "tickets/portal/request.html", context)


@_not_found
def portal_follow_attachment(
    request: HttpRequest, ticket_id: int, token: str, attachment_id: int
) -> HttpResponseBase:
    requester = selfservice.follow_requester(ticket_id=ticket_id, token=token)
    item = selectors.attachment_for(actor=requester, attachment_id=attachment_id)
    if item.message.ticket_id != ticket_id:
        raise Http404
    return _download(item)
