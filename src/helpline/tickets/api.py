"""/api/v1/tickets, /api/v1/search and /api/v1/attachments/{id}.

Every handler is thin: parse -> `access_ticket` / selector -> service -> Out schema.

Scopes: reads (`GET`) need `tickets:read`, writes `tickets:write`. Ticket search
(`GET /search`) also needs `tickets:read`: it returns ticket data, so a token that may not
read tickets may not search them either (`search:read` is for cross-area search).

Attachments: `POST /tickets/upload` is the multipart variant of `POST /tickets`: the form
field `data` carries the same JSON object as the JSON endpoint and each `files` part is an
attachment (at most `HELPLINE_MAX_ATTACHMENT_BYTES` each, 413 otherwise). Multipart rather
than base64 in JSON: JSON bodies are capped at `HELPLINE_MAX_JSON_BYTES` and base64 would
add a third to every file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.files import UploadedFile
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts import services as accounts_services
from helpline.accounts.models import Team, User
from helpline.api import Page, PageParams, api, paginate, require_scope
from helpline.core.errors import NotFound, PayloadTooLarge, PermissionDenied, ValidationError
from helpline.tickets import catalog, selectors, services
from helpline.tickets.access import access_ticket, require_staff
from helpline.tickets.models import Category, Ticket
from helpline.tickets.schemas import (
    AssignIn,
    AuditEntryOut,
    ChannelName,
    EscalateIn,
    LinkIn,
    LinkKind,
    LinkOut,
    Me,
    MergeIn,
    MessageOut,
    NoteIn,
    PriorityName,
    ReplyIn,
    SortKey,
    StatusIn,
    StatusName,
    TicketCreateIn,
    TicketDetailOut,
    TicketOut,
    TicketUpdateIn,
    TicketViewOut,
    TransferIn,
    WatcherIn,
    ticket_list_items,
    visible_custom_fields,
)

router = Router(tags=["tickets"])

READ = "tickets:read"
WRITE = "tickets:write"


# --- references ---------------------------------------------------------------------------


def _user_ref(actor: User, user_id: int | str, field: str) -> User:
    """A user the actor refers to by id (or "me"); 422 if the actor cannot see them."""
    if user_id == "me":
        return actor
    user = accounts_selectors.visible_users(actor).filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError(_("Unknown user."), fields={field: "not_found"})
    return user


def _team_ref(actor: User, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = accounts_selectors.team_list(actor=actor).filter(pk=team_id).first()
    if team is None:
        raise ValidationError(_("Unknown team."), fields={"team_id": "not_found"})
    return team


def _category_ref(actor: User, category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = catalog.visible_categories(actor).filter(pk=category_id).first()
    if category is None:
        raise ValidationError(_("Unknown category."), fields={"category_id": "not_found"})
    return category


def _ticket_ref(actor: User, ticket_id: int, field: str) -> Ticket:
    """Another ticket named in the body: 422 (not 404) when missing or not visible."""
    try:
        return access_ticket(actor, ticket_id)
    except NotFound:
        raise ValidationError(_("Unknown ticket."), fields={field: "not_found"}) from None


def new_ticket_requester(
    actor: User,
    requester_id: int | None,
    requester_email: str | None,
    *,
    user_ref: Callable[[int], User] | None = None,
    customer_for: Callable[[str], User] | None = None,
) -> User | None:
    """Who a new ticket is for. Agents name a customer by id or e-mail (unknown e-mail: the
    customer is created); customers open tickets for themselves. `user_ref` and
    `customer_for` replace the lookups by id and by e-mail (a batch reads them ahead)."""
    if requester_id is not None and requester_email is not None:
        raise ValidationError(
            _("Give requester_id or requester_email, not both."),
            fields={"requester_email": "conflicts_with_requester_id"},
        )
    if not actor.is_staff_member:
        others = (requester_id is not None and requester_id != actor.pk) or (
            requester_email is not None and requester_email.strip().lower() != actor.email
        )
        if others:
            raise PermissionDenied(_("Customers open tickets for themselves only."))
        return actor
    if requester_id is not None:
        if user_ref is not None:
            return user_ref(requester_id)
        return _user_ref(actor, requester_id, "requester_id")
    if requester_email is not None:
        email = requester_email.strip()
        if customer_for is not None:
            return customer_for(email)
        return customer_for_email(actor, email)
    return None


def customer_for_email(actor: User, email: str) -> User:
    """The user with this address the actor can see, or a new customer with it."""
    found = accounts_selectors.visible_users(actor).filter(email__iexact=email).first()
    return found or accounts_services.user_create(actor=actor, email=email)


def _create(
    request: HttpRequest, payload: TicketCreateIn, attachments: list[services.AttachmentIn]
) -> Ticket:
    actor = require_scope(request, WRITE)
    data = payload.model_dump()
    assignee_id = data.pop("assignee_id")
    # one transaction: a customer created for requester_email does not outlive a refused ticket
    with transaction.atomic():
        requester = new_ticket_requester(
            actor, data.pop("requester_id"), data.pop("requester_email")
        )
        ticket = services.ticket_create(
            actor=actor,
            requester=requester,
            category=_category_ref(actor, data.pop("category_id")),
            team=_team_ref(actor, data.pop("team_id")),
            assignee=None if assignee_id is None else _user_ref(actor, assignee_id, "assignee_id"),
            attachments=attachments,
            **data,
        )
    return selectors.ticket_detail(ticket)


def _ticket_out(ticket: Ticket) -> Ticket:
    """The ticket as its detail view shows it, re-read after a write (also when the write,
    a transfer say, took it out of the caller's sight)."""
    return selectors.ticket_detail(ticket)


# --- list and search ----------------------------------------------------------------------


class TicketFilterParams(Schema):
    status: list[StatusName] = Field(default_factory=list, description="Any of these statuses.")
    priority: list[PriorityName] = Field(default_factory=list)
    team: int | None = None
    assignee: int | Me | None = Field(None, description='An agent id or "me".')
    unassigned: bool = False
    organization: int | None = None
    requester: int | None = None
    category: int | None = None
    channel: ChannelName | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    sort: SortKey | Literal["sla_due_at"] = Field(
        "-updated_at", description="sla_due_at: running SLA clocks only, breaching soonest first."
    )


def _filtered(actor: User, params: TicketFilterParams, q: str) -> Any:
    data = params.model_dump(exclude={"sort"})
    if data["assignee"] == "me":
        data["assignee"] = actor.pk
    queryset = selectors.ticket_filter(actor=actor, filters=selectors.TicketFilters(q=q, **data))
    if params.sort == "sla_due_at":
        # "breaching soonest first": tickets with a running SLA/OLA clock, earliest deadline
        queryset = queryset.filter(sla_due_at__isnull=False)
    return queryset


def _ticket_page(
    request: HttpRequest, actor: User, params: TicketFilterParams, q: str, page: PageParams
) -> HttpResponse:
    """One page of `Page[TicketOut]`, rendered from plain rows: the same JSON as validating
    model instances against the schema, at a fraction of the cost (lists are the hot path)."""
    rows = selectors.ticket_list_rows(_filtered(actor, params, q))
    result = paginate(rows, page, order_by=params.sort)
    items = result["items"]
    names = selectors.ticket_list_names(items)
    body = {
        "items": ticket_list_items(items, names, visible_custom_fields(request)),
        "next_cursor": result["next_cursor"],
    }
    return api.create_response(request, body, status=200)


@router.get("/tickets", response=Page[TicketOut])
def list_tickets(
    request: HttpRequest,
    page: Query[PageParams],
    filters: Query[TicketFilterParams],
    q: str = Query("", max_length=500, description="Full-text search (optional)."),
) -> Any:
    """Tickets the caller may see, filtered and sorted, one cursor page at a time."""
    actor = require_scope(request, READ)
    return _ticket_page(request, actor, filters, q, page)


@router.get("/search", response=Page[TicketOut])
def search_tickets(
    request: HttpRequest,
    page: Query[PageParams],
    filters: Query[TicketFilterParams],
    q: str = Query(..., min_length=1, max_length=500, description="Full-text query."),
) -> Any:
    """Full-text ticket search (the same filters and sorting as the ticket list)."""
    actor = require_scope(request, READ)
    return _ticket_page(request, actor, filters, q, page)


# --- create, read, update -----------------------------------------------------------------


@router.post("/tickets", response={201: TicketDetailOut})
def create_ticket(request: HttpRequest, payload: TicketCreateIn) -> Any:
    """Open a ticket: customers for themselves, agents for a requester (id or e-mail)."""
    return Status(201, _create(request, payload, []))


@router.post("/tickets/upload", response={201: TicketDetailOut})
def create_ticket_upload(
    request: HttpRequest,
    data: Form[str],
    files: File[list[UploadedFile]],
) -> Any:
    """`POST /tickets` with attachments, as multipart/form-data: the form field `data` is
    the JSON body of `POST /tickets` (as text), each `files` part one attachment (at least
    one; without files use `POST /tickets`)."""
    limit = settings.HELPLINE_MAX_ATTACHMENT_BYTES
    for index, upload in enumerate(files):
        if (upload.size or 0) > limit:
            raise PayloadTooLarge(
                _("Attachment %(name)s is larger than %(limit)s bytes.")
                % {"name": upload.name, "limit": limit},
                fields={f"files.{index}": "too_large"},
            )
    try:
        payload = TicketCreateIn.model_validate_json(data)
    except PydanticValidationError as exc:
        errors = [
            {**error, "loc": ("form", "data", *error["loc"])}
            for error in exc.errors(include_url=False, include_context=False)
        ]
        raise NinjaValidationError(errors) from None
    attachments = [
        services.AttachmentIn(
            filename=upload.name or "attachment",
            content_type=upload.content_type or "application/octet-stream",
            data=upload.read(),
        )
        for upload in files
    ]
    return Status(201, _create(request, payload, attachments))


@router.get("/tickets/{int:ticket_id}", response=TicketViewOut)
def get_ticket(request: HttpRequest, ticket_id: int) -> Any:
    """The ticket; while it waits for its first answer, also its place in the team's queue
    and when we expect to answer (`queue`, as the portal shows it; not in the list)."""
    actor = require_scope(request, READ)
    return selectors.ticket_detail(access_ticket(actor, ticket_id))


@router.patch("/tickets/{int:ticket_id}", response=TicketDetailOut)
def update_ticket(request: HttpRequest, ticket_id: int, payload: TicketUpdateIn) -> Any:
    """Change fields (agents) and/or the status (customers: solve or reopen their own)."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    changes = payload.changes(nullable={"category_id"})
    status = changes.pop("status", None)
    if "category_id" in changes:
        changes["category"] = _category_ref(actor, changes.pop("category_id"))
    if changes:
        ticket = services.ticket_update(actor=actor, ticket=ticket, **changes)
    if status is not None:
        ticket = services.ticket_change_status(actor=actor, ticket=ticket, status=status)
    return _ticket_out(ticket)


# --- messages -----------------------------------------------------------------------------


@router.get("/tickets/{int:ticket_id}/messages", response=Page[MessageOut])
def list_messages(request: HttpRequest, ticket_id: int, page: Query[PageParams]) -> Any:
    """The conversation, oldest first; customers never see internal notes."""
    actor = require_scope(request, READ)
    ticket = access_ticket(actor, ticket_id)
    return paginate(selectors.ticket_messages(actor=actor, ticket=ticket), page, order_by="id")


def _message_out(actor: User, ticket: Ticket, message_id: int) -> Any:
    return selectors.ticket_messages(actor=actor, ticket=ticket).get(pk=message_id)


@router.post("/tickets/{int:ticket_id}/replies", response={201: MessageOut})
def add_reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> Any:
    """A public reply; agents may set a status with it."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    message = services.ticket_reply(actor=actor, ticket=ticket, **payload.model_dump())
    return Status(201, _message_out(actor, ticket, message.pk))


@router.post("/tickets/{int:ticket_id}/notes", response={201: MessageOut})
def add_note(request: HttpRequest, ticket_id: int, payload: NoteIn) -> Any:
    """An internal note (agents only)."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    message = services.ticket_add_note(actor=actor, ticket=ticket, **payload.model_dump())
    return Status(201, _message_out(actor, ticket, message.pk))


# --- workflow -----------------------------------------------------------------------------


@router.post("/tickets/{int:ticket_id}/status", response=TicketDetailOut)
def change_status(request: HttpRequest, ticket_id: int, payload: StatusIn) -> Any:
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    services.ticket_change_status(actor=actor, ticket=ticket, status=payload.status)
    return _ticket_out(ticket)


@router.post("/tickets/{int:ticket_id}/assign", response=TicketDetailOut)
def assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> Any:
    """Assign to an agent of the ticket's team (`"me"` for yourself)."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    require_staff(actor)
    assignee = _user_ref(actor, payload.assignee_id, "assignee_id")
    services.ticket_assign(actor=actor, ticket=ticket, assignee=assignee)
    return _ticket_out(ticket)


@router.post("/tickets/{int:ticket_id}/unassign", response=TicketDetailOut)
def unassign(request: HttpRequest, ticket_id: int) -> Any:
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    services.ticket_unassign(actor=actor, ticket=ticket)
    return _ticket_out(ticket)


@router.post("/tickets/{int:ticket_id}/transfer", response=TicketDetailOut)
def transfer(request: HttpRequest, ticket_id: int, payload: TransferIn) -> Any:
    """Move to another team (the answer shows it even if the caller no longer sees it)."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    require_staff(actor)
    team = _team_ref(actor, payload.team_id)
    assert team is not None
    services.ticket_transfer(actor=actor, ticket=ticket, team=team, note=payload.note)
    return _ticket_out(ticket)


@router.post("/tickets/{int:ticket_id}/escalate", response=TicketDetailOut)
def escalate(request: HttpRequest, ticket_id: int, payload: EscalateIn) -> Any:
    """Hand over to the next support line with a hand-off note."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    services.ticket_escalate(actor=actor, ticket=ticket, note=payload.note)
    return _ticket_out(ticket)


@router.post("/tickets/{int:ticket_id}/merge", response=TicketDetailOut)
def merge(request: HttpRequest, ticket_id: int, payload: MergeIn) -> Any:
    """Merge this ticket into `into_id`; this one is closed. Returns the target."""
    actor = require_scope(request, WRITE)
    source = access_ticket(actor, ticket_id)
    require_staff(actor)
    target = _ticket_ref(actor, payload.into_id, "into_id")
    target = services.ticket_merge(actor=actor, source=source, target=target)
    return _ticket_out(target)


# --- links, watchers, audit -----------------------------------------------------------------


@router.get("/tickets/{int:ticket_id}/links", response=list[LinkOut])
def list_links(request: HttpRequest, ticket_id: int) -> Any:
    actor = require_scope(request, READ)
    ticket = access_ticket(actor, ticket_id)
    return selectors.ticket_links(actor=actor, ticket=ticket)


@router.post("/tickets/{int:ticket_id}/links", response={201: list[LinkOut]})
def add_link(request: HttpRequest, ticket_id: int, payload: LinkIn) -> Any:
    """Link to another ticket; answers with this ticket's links."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    require_staff(actor)
    other = _ticket_ref(actor, payload.other_id, "other_id")
    services.ticket_link(actor=actor, ticket=ticket, other=other, kind=payload.kind)
    return Status(201, selectors.ticket_links(actor=actor, ticket=ticket))


@router.delete("/tickets/{int:ticket_id}/links/{int:other_id}", response={204: None})
def remove_link(request: HttpRequest, ticket_id: int, other_id: int, kind: LinkKind) -> Any:
    """Remove the link of `kind` (as it was created from this ticket) to `other_id`."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    require_staff(actor)
    other = _ticket_ref(actor, other_id, "other_id")
    services.ticket_unlink(actor=actor, ticket=ticket, other=other, kind=kind)
    return Status(204, None)


def _watcher(actor: User, ticket: Ticket, user_id: int | str) -> User:
    """A watcher must be able to see the ticket (else it would leak by notification)."""
    if user_id not in ("me", actor.pk):
        require_staff(actor)
    user = _user_ref(actor, user_id, "user_id")
    try:
        access_ticket(user, ticket.pk)
    except NotFound:
        raise ValidationError(
            _("This user cannot see the ticket."), fields={"user_id": "cannot_see_ticket"}
        ) from None
    return user


@router.post("/tickets/{int:ticket_id}/watchers", response=TicketDetailOut)
def add_watcher(request: HttpRequest, ticket_id: int, payload: WatcherIn) -> Any:
    """Watch the ticket (`"me"`), or (agents) add someone who can see it."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    user = _watcher(actor, ticket, payload.user_id)
    services.ticket_watch(actor=actor, ticket=ticket, user=user, watching=True)
    return _ticket_out(ticket)


@router.delete("/tickets/{int:ticket_id}/watchers/{user_id}", response=TicketDetailOut)
def remove_watcher(request: HttpRequest, ticket_id: int, user_id: int | Me) -> Any:
    """Stop watching (`me`), or (agents) remove a watcher."""
    actor = require_scope(request, WRITE)
    ticket = access_ticket(actor, ticket_id)
    if user_id not in ("me", actor.pk):
        require_staff(actor)
    user = _user_ref(actor, user_id, "user_id")
    services.ticket_watch(actor=actor, ticket=ticket, user=user, watching=False)
    return _ticket_out(ticket)


@router.get("/tickets/{int:ticket_id}/audit", response=Page[AuditEntryOut])
def list_audit(request: HttpRequest, ticket_id: int, page: Query[PageParams]) -> Any:
    """Who changed what (agents only), oldest first."""
    actor = require_scope(request, READ)
    ticket = access_ticket(actor, ticket_id)
    return paginate(selectors.ticket_audit(actor=actor, ticket=ticket), page, order_by="id")


# --- attachments --------------------------------------------------------------------------


@router.get(
    "/attachments/{int:attachment_id}",
    response={200: None},
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as a download.",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
def download_attachment(request: HttpRequest, attachment_id: int) -> Any:
    """Download an attachment of a message the caller may see."""
    actor = require_scope(request, READ)
    attachment = selectors.attachment_for(actor=actor, attachment_id=attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
