"""The agent desk (`/desk/`): queues, the ticket page and its actions; thin HTMX views.

Every read goes through the selectors and `access_ticket` (a ticket the viewer may not
see is a 404, like a missing one); every write through a named service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts.models import User
from helpline.accounts.services import next_line
from helpline.core.errors import DomainError, NotFound, ValidationError
from helpline.core.middleware import AuthenticatedRequest
from helpline.tickets import catalog, selectors, services
from helpline.tickets.access import access_ticket
from helpline.tickets.forms import (
    EscalateForm,
    LinkForm,
    MergeForm,
    NoteForm,
    PropertiesForm,
    ReplyForm,
    TransferForm,
    category_choices,
    to_attachments,
)
from helpline.tickets.models import Priority, Status, Ticket
from helpline.tickets.selectors import TicketFilters
from helpline.tickets.views import ACTIVE, DONE, PAGE_SIZE, _not_found

PENDING = [Status.PENDING_CUSTOMER.value, Status.PENDING_THIRD_PARTY.value, Status.ON_HOLD.value]
RECENT_DAYS = 7


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Desk views: sign-in required; for customers the desk does not exist (404)."""

    @login_required
    @_not_found
    @wraps(view)
    def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff_member:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- desk: queues ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    label: Promise
    supervisors_only: bool = False


QUEUES = [
    Queue("mine", gettext_lazy("My tickets")),
    Queue("team", gettext_lazy("My teams, unassigned")),
    Queue("all", gettext_lazy("All open"), supervisors_only=True),
    Queue("pending", gettext_lazy("Pending")),
    Queue("solved", gettext_lazy("Recently solved")),
]

SORTS = {
    "number": "id",
    "subject": "subject",
    "status": "status",
    "priority": "priority",
    "requester": "requester__email",
    "updated": "updated_at",
    "created": "created_at",
}
COLUMNS = [
    ("number", gettext_lazy("Number")),
    ("subject", gettext_lazy("Subject")),
    ("requester", gettext_lazy("Requester")),
    ("status", gettext_lazy("Status")),
    ("priority", gettext_lazy("Priority")),
    (None, gettext_lazy("Team")),
    (None, gettext_lazy("Assignee")),
    ("updated", gettext_lazy("Updated")),
]


def _queue_tickets(actor: User, key: str) -> QuerySet[Ticket]:
    if key == "mine":
        return selectors.ticket_list(
            actor=actor, filters=TicketFilters(assignee=actor.pk, status=ACTIVE)
        )
    if key == "team":
        queryset = selectors.ticket_list(
            actor=actor, filters=TicketFilters(unassigned=True, status=ACTIVE)
        )
        return queryset.filter(team__in=actor.teams.values("pk"))
    if key == "all":
        return selectors.ticket_list(actor=actor, filters=TicketFilters(status=ACTIVE))
    if key == "pending":
        return selectors.ticket_list(actor=actor, filters=TicketFilters(status=PENDING))
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return selectors.ticket_list(
        actor=actor, filters=TicketFilters(status=DONE, updated_after=since)
    )


def _sort(request: HttpRequest, default: str = "-updated") -> tuple[str, list[str]]:
    sort = request.GET.get("sort") or default
    name = sort.removeprefix("-")
    if name not in SORTS:
        sort, name = default, default.removeprefix("-")
    field = SORTS[name]
    if sort.startswith("-"):
        return sort, [f"-{field}", "-id"]
    return sort, [field, "id"]


def _columns(sort: str) -> list[dict[str, Any]]:
    current = sort.removeprefix("-")
    descending = sort.startswith("-")
    columns = []
    for key, label in COLUMNS:
        column: dict[str, Any] = {"key": key, "label": label, "active": key == current}
        if key is not None:
            column["next"] = key if key == current and descending else f"-{key}"
            column["aria_sort"] = (
                ("descending" if descending else "ascending") if key == current else "none"
            )
        columns.append(column)
    return columns


@staff_only
def desk_queue(request: AuthenticatedRequest) -> HttpResponse:
    actor = request.user
    queues = [q for q in QUEUES if not q.supervisors_only or actor.sees_all_tickets]
    keys = [q.key for q in queues]
    key = request.GET.get("view") or "mine"
    if key not in keys:
        raise Http404
    sort, order = _sort(request)
    tickets = _queue_tickets(actor, key).order_by(*order)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "area": "desk",
        "queues": queues,
        "queue": key,
        "page": page,
        "sort": sort,
        "columns": _columns(sort),
    }
    return render(request, "tickets/desk/queue.html", context)


# --- desk: the ticket page ------------------------------------------------------------------


def _audit_refs(actor: User, entries: list[Any], teams: list[Any]) -> dict[str, dict]:
    user_ids = {
        value
        for entry in entries
        if entry.field in ("assignee", "watchers")
        for value in (entry.before, entry.after)
        if isinstance(value, int)
    }
    users = accounts_selectors.visible_users(actor).filter(pk__in=user_ids) if user_ids else []
    return {
        "team": {team.pk: team.name for team in teams},
        "assignee": {user.pk: user.name for user in users},
        "category": {},
    }


def _ticket_context(actor: User, ticket: Ticket) -> dict[str, Any]:
    ticket = selectors.ticket_detail(ticket)
    requester = ticket.requester
    organization = None
    if requester.organization_id is not None:
        organization = (
            accounts_selectors.visible_organizations(actor)
            .select_related("service_manager")
            .filter(pk=requester.organization_id)
            .first()
        )
    other_tickets = list(
        selectors.ticket_list(actor=actor, filters=TicketFilters(requester=requester.pk))
        .exclude(pk=ticket.pk)
        .order_by("-updated_at", "-id")[:6]
    )
    teams = list(accounts_selectors.team_list(actor=actor))
    audit = list(selectors.ticket_audit(actor=actor, ticket=ticket))
    categories = category_choices(catalog.category_tree(actor=actor))
    refs = _audit_refs(actor, audit, teams)
    refs["category"] = {int(pk): name.lstrip("— ") for pk, name in categories}
    statuses = [ticket.status, *sorted(services.TRANSITIONS[ticket.status])]
    ordered_statuses = [s.value for s in Status if s.value in statuses]
    closed = ticket.status == Status.CLOSED
    properties = PropertiesForm(
        statuses=ordered_statuses,
        categories=categories,
        initial={
            "status": ticket.status,
            "priority": Priority(ticket.priority).key,
            "category": ticket.category_id or "",
            "tags": ", ".join(tag.name for tag in ticket.tags.all()),
        },
        auto_id="properties-%s",
    )
    return {
        "area": "desk",
        "ticket": ticket,
        "thread": list(selectors.ticket_messages(actor=actor, ticket=ticket)),
        "audit": audit,
        "refs": refs,
        "links": selectors.ticket_links(actor=actor, ticket=ticket),
        "requester": requester,
        "organization": organization,
        "other_tickets": other_tickets,
        "closed": closed,
        "next_line": next_line(ticket.team) if ticket.team and not closed else None,
        "reply_form": ReplyForm(
            statuses=sorted(services.TRANSITIONS[ticket.status]), auto_id="reply-%s"
        ),
        "note_form": NoteForm(auto_id="note-%s"),
        "properties_form": properties,
        "transfer_form": TransferForm(
            teams=[(str(team.pk), team.name) for team in teams if team.pk != ticket.team_id],
            auto_id="transfer-%s",
        ),
        "escalate_form": EscalateForm(auto_id="escalate-%s"),
        "merge_form": MergeForm(auto_id="merge-%s"),
        "link_form": LinkForm(auto_id="link-%s"),
    }


@staff_only
def desk_ticket(request: AuthenticatedRequest, ticket_id: int) -> HttpResponse:
    ticket = access_ticket(request.user, ticket_id)
    return render(request, "tickets/desk/ticket.html", _ticket_context(request.user, ticket))


class FormInvalid(Exception):
    def __init__(self, form: Any) -> None:
        super().__init__("invalid form")
        self.form = form


def _valid(form: Any) -> Any:
    if not form.is_valid():
        raise FormInvalid(form)
    return form.cleaned_data


def _team(actor: User, team_id: str) -> Any:
    team = accounts_selectors.team_list(actor=actor).filter(pk=team_id).first()
    if team is None:
        raise NotFound(_("Team not found."))
    return team


def _other_ticket(actor: User, number: int) -> Ticket:
    try:
        return access_ticket(actor, number)
    except NotFound:
        raise ValidationError(
            _("Ticket #%(number)s was not found.") % {"number": number},
            fields={"ticket": "not_found"},
        ) from None


def _act(request: HttpRequest, actor: User, ticket: Ticket, action: str) -> tuple[str, str | None]:
    """Run one desk action; return (success message, URL to go to instead, if any)."""
    data, files = request.POST, request.FILES
    if action == "reply":
        form = ReplyForm(data, files, statuses=sorted(services.TRANSITIONS[ticket.status]))
        cleaned = _valid(form)
        services.ticket_reply(
            actor=actor,
            ticket=ticket,
            body=cleaned["body"],
            status=cleaned["status"] or None,
            attachments=to_attachments(cleaned["attachments"]),
        )
        return _("Your reply is sent."), None
    if action == "note":
        cleaned = _valid(NoteForm(data, files))
        services.ticket_add_note(
            actor=actor,
            ticket=ticket,
            body=cleaned["body"],
            attachments=to_attachments(cleaned["attachments"]),
        )
        return _("The note is added."), None
    if action == "properties":
        categories = category_choices(catalog.category_tree(actor=actor))
        properties = PropertiesForm(data, statuses=list(Status.values), categories=categories)
        cleaned = _valid(properties)
        if cleaned["status"] != ticket.status:
            ticket = services.ticket_change_status(
                actor=actor, ticket=ticket, status=cleaned["status"]
            )
        if ticket.status != Status.CLOSED:
            category = (
                catalog.access_category(actor, int(cleaned["category"]))
                if cleaned["category"]
                else None
            )
            services.ticket_update(
                actor=actor,
                ticket=ticket,
                priority=cleaned["priority"],
                category=category,
                tags=properties.tag_list(),
            )
        return _("The ticket is updated."), None
    if action == "assign_me":
        services.ticket_assign(actor=actor, ticket=ticket, assignee=actor)
        return _("The ticket is assigned to you."), None
    if action == "unassign":
        services.ticket_unassign(actor=actor, ticket=ticket)
        return _("The ticket is unassigned."), None
    if action == "transfer":
        teams = [(str(team.pk), team.name) for team in accounts_selectors.team_list(actor=actor)]
        cleaned = _valid(TransferForm(data, teams=teams))
        services.ticket_transfer(
            actor=actor, ticket=ticket, team=_team(actor, cleaned["team"]), note=cleaned["note"]
        )
        return _("The ticket is transferred."), None
    if action == "escalate":
        cleaned = _valid(EscalateForm(data))
        services.ticket_escalate(actor=actor, ticket=ticket, note=cleaned["note"])
        return _("The ticket is escalated."), None
    if action == "merge":
        cleaned = _valid(MergeForm(data))
        target = _other_ticket(actor, cleaned["target"])
        services.ticket_merge(actor=actor, source=ticket, target=target)
        return (
            _("Ticket #%(source)s is merged into this ticket.") % {"source": ticket.pk},
            reverse("tickets:desk_ticket", args=[target.pk]),
        )
    if action == "link":
        cleaned = _valid(LinkForm(data))
        other = _other_ticket(actor, cleaned["other"])
        services.ticket_link(actor=actor, ticket=ticket, other=other, kind=cleaned["kind"])
        return _("The tickets are linked."), None
    raise Http404


def _form_errors(form: Any) -> str:
    return " ".join(
        f"{form.fields[name].label}: {' '.join(errors)}"
        if name in form.fields
        else " ".join(errors)
        for name, errors in form.errors.items()
    )


@staff_only
@require_POST
def desk_action(request: AuthenticatedRequest, ticket_id: int, action: str) -> HttpResponse:
    actor = request.user
    ticket = access_ticket(actor, ticket_id)
    url = reverse("tickets:desk_ticket", args=[ticket.pk])
    error = success = ""
    try:
        success, redirect_to = _act(request, actor, ticket, action)
    except FormInvalid as exc:
        error = _form_errors(exc.form)
    except DomainError as exc:
        error = exc.message
    else:
        if redirect_to:
            messages.success(request, success)
            if _is_htmx(request):
                response = HttpResponse()
                response["HX-Redirect"] = redirect_to
                return response
            return HttpResponseRedirect(redirect_to)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, success)
        return HttpResponseRedirect(url)
    context = _ticket_context(actor, ticket)
    context.update({"flash_error": error, "flash_success": success})
    # 422: the action was refused; the page fragment (with the reason) is swapped in anyway.
    return render(request, "tickets/desk/_ticket.html", context, status=422 if error else 200)
