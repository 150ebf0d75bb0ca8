"""The agent desk (`/desk/`): queues, the ticket page and its actions; thin HTMX views.

Every read goes through the selectors and `access_ticket` (a ticket the viewer may not
see is a 404, like a missing one); every write through a named service.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts.models import STAFF_ROLES, User
from helpline.accounts.services import next_line
from helpline.api import InvalidCursor, PageParams, paginate
from helpline.core.errors import DomainError, NotFound, ValidationError
from helpline.core.middleware import AuthenticatedRequest
from helpline.tickets import catalog, saved_views, selectors, services
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
from helpline.tickets.forms_desk import AssignForm, BulkForm, CustomFieldsForm, SavedViewForm
from helpline.tickets.models import Channel, Priority, Status, Ticket
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

# Sortable columns: each has an index that serves its keyset (field, id) at 1M tickets.
SORTS = {
    "number": "id",
    "priority": "priority",
    "updated": "updated_at",
    "created": "created_at",
    "sla": "sla_due_at",  # breaching soonest first: only tickets with a running clock
}
COLUMNS = [
    ("number", gettext_lazy("Number")),
    (None, gettext_lazy("Subject")),
    (None, gettext_lazy("Requester")),
    (None, gettext_lazy("Status")),
    ("priority", gettext_lazy("Priority")),
    ("sla", gettext_lazy("SLA")),
    (None, gettext_lazy("Team")),
    (None, gettext_lazy("Assignee")),
    ("updated", gettext_lazy("Updated")),
    ("created", gettext_lazy("Created")),
]
SEARCH_RESULTS = 10


def _queue_filters(key: str) -> dict[str, Any]:
    """The built-in queues as saved-view filter JSON (so "save this view" keeps them)."""
    if key == "mine":
        return {"assignee": "me", "status": ACTIVE}
    if key == "team":
        return {"unassigned": True, "status": ACTIVE}
    if key == "all":
        return {"status": ACTIVE}
    if key == "pending":
        return {"status": PENDING}
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return {"status": DONE, "updated_after": since.isoformat()}


def _request_filters(request: HttpRequest) -> dict[str, Any]:
    """The API's filters given in the query string (`?status=open&priority=high&q=...`)."""
    return saved_views.clean_filters(
        {
            name: request.GET.getlist(name)
            for name in saved_views.FILTER_NAMES
            if name in request.GET
        }
    )


def _sort(value: str | None, default: str = "-updated") -> tuple[str, str]:
    """The sort key shown in the URL and the `paginate` ordering it means."""
    sort = value or default
    name = sort.removeprefix("-")
    if name not in SORTS:
        sort, name = default, default.removeprefix("-")
    return sort, ("-" if sort.startswith("-") else "") + SORTS[name]


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


def _team_choices(actor: User) -> list[tuple[str, str]]:
    teams = accounts_selectors.team_list(actor=actor).prefetch_related(None).only("pk", "name")
    return [(str(team.pk), team.name) for team in teams]


def _agent_choices(actor: User) -> list[tuple[str, str]]:
    agents = (
        accounts_selectors.user_list(actor=actor, is_active=True)
        .filter(role__in=sorted(STAFF_ROLES))
        .select_related(None)
        .only("pk", "email", "display_name", "first_name", "last_name")
    )
    return [(str(agent.pk), agent.name) for agent in agents.order_by("email")]


@staff_only
def desk_queue(request: AuthenticatedRequest) -> HttpResponse:
    """A queue: built-in or saved view, plus ad-hoc filters, keyset-paginated (no COUNT)."""
    actor = request.user
    queues = [q for q in QUEUES if not q.supervisors_only or actor.sees_all_tickets]
    key = request.GET.get("view") or "mine"
    views = list(saved_views.saved_view_list(actor=actor))
    saved = None
    if key.startswith("saved-"):
        saved = saved_views.access_saved_view(actor, key.removeprefix("saved-"))
        base, default_sort = dict(saved.filters), saved.sort
    elif key in {q.key for q in queues}:
        base, default_sort = _queue_filters(key), "-updated"
    else:
        raise Http404
    error = ""
    try:
        extra = _request_filters(request)
    except ValidationError as exc:
        error, extra = exc.message, {}
    combined = {**base, **extra}
    try:
        filters = saved_views.to_ticket_filters(combined, actor=actor)
    except ValidationError as exc:  # a saved view whose filters no longer validate
        error, combined = exc.message, {}
        filters = TicketFilters()
    sort, order_by = _sort(request.GET.get("sort"), default_sort)
    tickets = selectors.ticket_list(actor=actor, filters=filters)
    if key == "team":
        tickets = tickets.filter(team__in=actor.teams.values("pk"))
    if sort.removeprefix("-") == "sla":
        tickets = tickets.filter(sla_due_at__isnull=False)
    try:
        page = paginate(
            tickets,
            PageParams(cursor=request.GET.get("cursor"), limit=PAGE_SIZE),
            order_by=order_by,
        )
    except InvalidCursor:
        page = paginate(tickets, PageParams(limit=PAGE_SIZE), order_by=order_by)
    context = {
        "area": "desk",
        "desk_section": "queue",
        "queues": queues,
        "queue": key,
        "saved": saved,
        "saved_views": views,
        "can_edit_view": saved is not None and saved_views.can_edit(actor, saved),
        "tickets": page["items"],
        "next_cursor": page["next_cursor"],
        "first_page": bool(request.GET.get("cursor")),
        "sort": sort,
        "columns": _columns(sort),
        "filters_json": json.dumps(combined),
        "filter_error": error,
        "filtered": bool(extra),
    }
    return render(request, "tickets/desk/queue.html", context)


@staff_only
def desk_queue_tools(request: AuthenticatedRequest) -> HttpResponse:
    """The queue's filter form or bulk-action controls, loaded when first opened (HTMX), so
    the queue page itself stays a handful of queries and a short render."""
    actor = request.user
    part = request.GET.get("part")
    context: dict[str, Any] = {
        "status_choices": Status.choices,
        "priority_choices": [(p.key, p.label) for p in Priority],
        "team_choices": _team_choices(actor),
    }
    if part == "bulk":
        context.update(agent_choices=_agent_choices(actor), bulk_actions=BulkForm.ACTIONS)
        return render(request, "tickets/desk/_queue_bulk.html", context)
    if part != "filters":
        raise Http404
    try:
        chosen = _request_filters(request)
    except ValidationError:
        chosen = {}
    sort = request.GET.get("sort", "")
    context.update(
        queue=request.GET.get("view") or "mine",
        sort=sort if sort.lstrip("-") in SORTS else "",
        channel_choices=Channel.choices,
        chosen={
            **chosen,
            "team": str(chosen.get("team", "")),
            "status": chosen.get("status", []),
            "priority": chosen.get("priority", []),
        },
    )
    return render(request, "tickets/desk/_queue_filters.html", context)


# --- desk: saved views ----------------------------------------------------------------------


@staff_only
@require_POST
def desk_view_save(request: AuthenticatedRequest) -> HttpResponse:
    """Save the filters of the queue the agent is looking at as a named view."""
    actor = request.user
    form = SavedViewForm(request.POST)
    raw = request.POST.get("filters", "")
    try:
        filters = json.loads(raw) if raw else {}
    except ValueError:
        filters = None
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return HttpResponseRedirect(reverse("tickets:desk"))
    try:
        view = saved_views.saved_view_create(
            actor=actor,
            name=form.cleaned_data["name"],
            filters=filters,  # type: ignore[arg-type]
            sort=request.POST.get("sort") or "-updated",
            shared=form.cleaned_data["shared"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("tickets:desk"))
    messages.success(request, _("The view is saved."))
    return HttpResponseRedirect(reverse("tickets:desk") + f"?view=saved-{view.pk}")


@staff_only
@require_POST
def desk_view_delete(request: AuthenticatedRequest, view_id: int) -> HttpResponse:
    actor = request.user
    view = saved_views.access_saved_view(actor, view_id)
    try:
        saved_views.saved_view_delete(actor=actor, view=view)
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("tickets:desk") + f"?view=saved-{view.pk}")
    messages.success(request, _("The view is deleted."))
    return HttpResponseRedirect(reverse("tickets:desk"))


# --- desk: bulk actions ---------------------------------------------------------------------


def _bulk_one(actor: User, ticket: Ticket, action: str, cleaned: dict[str, Any], refs: Any) -> None:
    """Apply one bulk action to one ticket through the same service as the single action."""
    if action == "assign":
        if cleaned["assignee"] == "none":
            services.ticket_unassign(actor=actor, ticket=ticket)
        else:
            services.ticket_assign(actor=actor, ticket=ticket, assignee=refs)
    elif action == "status":
        services.ticket_change_status(actor=actor, ticket=ticket, status=cleaned["status"])
    elif action == "priority":
        services.ticket_update(actor=actor, ticket=ticket, priority=cleaned["priority"])
    elif action == "tag":
        names = [tag.name for tag in ticket.tags.all()]
        services.ticket_update(actor=actor, ticket=ticket, tags=[*names, cleaned["tag"]])
    elif action == "transfer":
        services.ticket_transfer(actor=actor, ticket=ticket, team=refs)
    elif action == "merge":
        services.ticket_merge(actor=actor, source=ticket, target=refs)


def _bulk_refs(actor: User, action: str, cleaned: dict[str, Any]) -> Any:
    """What the action points at (assignee, team, merge target), resolved once."""
    if action == "assign" and cleaned["assignee"] != "none":
        if cleaned["assignee"] == "me":
            return actor
        return selectors.user_for_actor(actor, int(cleaned["assignee"]))
    if action == "transfer":
        return _team(actor, cleaned["team"])
    if action == "merge":
        return _other_ticket(actor, cleaned["target"])
    return None


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("tickets:desk")


@staff_only
@require_POST
def desk_bulk(request: AuthenticatedRequest) -> HttpResponse:
    """One action on many tickets: each through its service (audited, events), each reported."""
    actor = request.user
    back = _safe_next(request)
    ids = request.POST.getlist("ids")
    form = BulkForm(
        request.POST,
        agents=_agent_choices(actor),
        teams=_team_choices(actor),
    )
    form.fields["ids"].choices = [(value, value) for value in ids]  # type: ignore[attr-defined]
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return HttpResponseRedirect(back)
    cleaned = form.cleaned_data
    action = cleaned["action"]
    try:
        refs = _bulk_refs(actor, action, cleaned)
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(back)
    done: list[int] = []
    for number in cleaned["ids"]:
        try:
            ticket = access_ticket(actor, number)
            if action == "merge" and ticket.pk == refs.pk:
                continue
            _bulk_one(actor, ticket, action, cleaned, refs)
        except DomainError as exc:
            messages.error(request, f"#{number}: {exc.message}")
        else:
            done.append(number)
    if done:
        messages.success(
            request,
            ngettext("%(count)s ticket is updated.", "%(count)s tickets are updated.", len(done))
            % {"count": len(done)},
        )
    return HttpResponseRedirect(back)


# --- desk: search ---------------------------------------------------------------------------


@staff_only
def desk_search(request: AuthenticatedRequest) -> HttpResponse:
    """Instant search (HTMX fragment) or the full results page; only tickets the agent sees."""
    actor = request.user
    q = (request.GET.get("q") or "").strip()[:500]
    results: list[Ticket] = []
    if q:
        filters = TicketFilters(q=q)
        if q.lstrip("#").isdigit():
            number = int(q.lstrip("#"))
            results = list(selectors.ticket_list(actor=actor).filter(pk=number))
        results += [
            ticket
            for ticket in selectors.ticket_list(actor=actor, filters=filters).order_by(
                "-updated_at", "-id"
            )[:SEARCH_RESULTS]
            if ticket not in results
        ]
    context = {"area": "desk", "q": q, "results": results}
    if _is_htmx(request):
        return render(request, "tickets/desk/_search_results.html", context)
    return render(request, "tickets/desk/search.html", context)


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
    definitions = list(catalog.custom_field_list(actor=actor))
    custom_fields = CustomFieldsForm(
        definitions=definitions,
        initial={f"cf_{key}": value for key, value in ticket.custom_fields.items()},
        auto_id="cf-%s",
    )
    return {
        "area": "desk",
        "desk_section": "queue",
        "ticket": ticket,
        "custom_fields_form": custom_fields if definitions else None,
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
        "assign_form": AssignForm(
            agents=[
                (str(m.user.pk), m.user.name)
                for team in teams
                if team.pk == ticket.team_id
                for m in team.teammembership_set.all()
                if m.user.is_active and m.user.pk != ticket.assignee_id
            ],
            auto_id="assign-%s",
        ),
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
    if action == "custom_fields":
        definitions = list(catalog.custom_field_list(actor=actor))
        fields_form = CustomFieldsForm(data, definitions=definitions)
        _valid(fields_form)
        services.ticket_update(actor=actor, ticket=ticket, custom_fields=fields_form.values())
        return _("The ticket is updated."), None
    if action == "assign":
        cleaned = _valid(AssignForm(data, agents=_agent_choices(actor)))
        assignee = selectors.user_for_actor(actor, int(cleaned["assignee"]))
        services.ticket_assign(actor=actor, ticket=ticket, assignee=assignee)
        return _("The ticket is assigned to %(name)s.") % {"name": assignee.name}, None
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
