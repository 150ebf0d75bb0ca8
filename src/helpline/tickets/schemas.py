"""API schemas for tickets: one input schema per write operation, output schemas for reads.

Inputs inherit `InSchema` (unknown fields are a 422). Outputs name priorities ("low" ..
"urgent") and statuses by key and nest small references instead of bare ids.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from helpline.api import InSchema
from helpline.routing import eta
from helpline.tickets import catalog
from helpline.tickets.models import Priority
from helpline.tickets.selectors import ListNames

PriorityName = Literal["low", "normal", "high", "urgent"]
StatusName = Literal[
    "new", "open", "pending_customer", "pending_third_party", "on_hold", "solved", "closed"
]
ChannelName = Literal["web", "email", "chat", "phone", "api"]
LinkKind = Literal["related", "parent", "follow_up"]
SortKey = Literal[
    "-updated_at", "updated_at", "-created_at", "created_at", "-priority", "priority", "id"
]
Me = Literal["me"]


# --- references -------------------------------------------------------------------------


class UserRef(Schema):
    id: int
    name: str


class OrganizationRef(Schema):
    id: int
    name: str


class TeamRef(Schema):
    id: int
    name: str


class CategoryRef(Schema):
    id: int
    name: str


class TicketRef(Schema):
    id: int
    subject: str
    status: StatusName


# --- tickets ----------------------------------------------------------------------------


def _customer_field_keys(request: HttpRequest) -> frozenset[str]:
    """Keys of the custom fields customers may see, read once per request."""
    cached: frozenset[str] | None = getattr(request, "_helpline_customer_fields", None)
    if cached is None:
        actor = request.auth  # type: ignore[attr-defined]
        keys = catalog.custom_field_list(actor=actor).values_list("key", flat=True)
        cached = frozenset(keys)
        request._helpline_customer_fields = cached  # type: ignore[attr-defined]
    return cached


def visible_custom_fields(request: HttpRequest) -> frozenset[str] | None:
    """The custom field keys the caller sees in ticket output: None for agents (all)."""
    if request.auth.is_staff_member:  # type: ignore[attr-defined]
        return None
    return _customer_field_keys(request)


class TicketOut(Schema):
    id: int
    subject: str
    status: StatusName
    priority: PriorityName
    channel: ChannelName
    requester: UserRef
    organization: OrganizationRef | None
    team: TeamRef | None
    assignee: UserRef | None
    category: CategoryRef | None
    tags: list[str]
    custom_fields: dict[str, Any] = Field(
        description="Customers see only the fields marked visible to customers."
    )
    merged_into_id: int | None
    message_count: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_priority(obj: Any) -> str:
        return Priority(obj.priority).key

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_custom_fields(obj: Any, context: dict[str, Any]) -> dict[str, Any]:
        visible = visible_custom_fields(context["request"])
        if visible is None:
            return dict(obj.custom_fields)
        return {key: value for key, value in obj.custom_fields.items() if key in visible}


_PRIORITY_KEYS = {priority.value: priority.key for priority in Priority}


def _iso(value: datetime | None) -> str | None:
    """A datetime as the API's JSON encoder writes it (Django's: milliseconds, "Z" for UTC),
    done here so that encoding a page calls no Python per value."""
    if value is None:
        return None
    text = value.isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def _ref(pk: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    return None if pk is None else {"id": pk, "name": names[pk]}


def ticket_list_items(
    rows: list[Any],
    names: ListNames,
    visible_fields: frozenset[str] | None,
) -> list[dict[str, Any]]:
    """Ticket list rows (`selectors.ticket_list_rows`) as `TicketOut` dicts, ready for JSON.

    What validating the model instances against `TicketOut` gives, without building them:
    a page of 50 tickets costs about a tenth. `names` comes from
    `selectors.ticket_list_names`; `visible_fields` is None for agents (every custom field)
    and the keys a customer may see.
    """
    people, tags = names.people, names.tags
    items = []
    for row in rows:
        custom_fields = row.custom_fields
        if visible_fields is not None:
            custom_fields = {k: v for k, v in custom_fields.items() if k in visible_fields}
        items.append(
            {
                "id": row.id,
                "subject": row.subject,
                "status": row.status,
                "priority": _PRIORITY_KEYS[row.priority],
                "channel": row.channel,
                "requester": {"id": row.requester_id, "name": people[row.requester_id]},
                "organization": _ref(row.organization_id, names.organizations),
                "team": _ref(row.team_id, names.teams),
                "assignee": _ref(row.assignee_id, people),
                "category": _ref(row.category_id, names.categories),
                "tags": tags.get(row.id, []),
                "custom_fields": dict(custom_fields),
                "merged_into_id": row.merged_into_id,
                "message_count": row.message_count,
                "created_at": _iso(row.created_at),
                "updated_at": _iso(row.updated_at),
                "first_response_at": _iso(row.first_response_at),
                "solved_at": _iso(row.solved_at),
                "closed_at": _iso(row.closed_at),
            }
        )
    return items


class TicketDetailOut(TicketOut):
    watchers: list[UserRef]

    @staticmethod
    def resolve_watchers(obj: Any) -> list[Any]:
        return sorted(obj.watchers.all(), key=lambda user: user.pk)


class QueueOut(Schema):
    """Where a ticket waiting for its first answer stands (`routing.eta`); the same as the
    portal request page and the acknowledgement e-mail show."""

    place: int = Field(description="1: the next ticket of its team to be answered.")
    ahead: int = Field(description="How many of the team's waiting tickets come before it.")
    estimated_answer_at: datetime | None = Field(
        description="When we expect to answer, from the team's first answers in the last 7 days "
        "over its working hours; null when there were none to estimate from."
    )
    estimate_minutes: int | None = Field(
        description="Minutes from now until `estimated_answer_at` (rounded up); null with it."
    )


def queue_out(ticket: Any, now: datetime) -> QueueOut | None:
    """The ticket's queue place and estimate; None unless it waits for its first answer."""
    place = eta.queue_place(ticket, now=now)
    if place is None:
        return None
    minutes = None
    if place.estimated_answer_at is not None:
        seconds = (place.estimated_answer_at - now).total_seconds()
        minutes = max(0, math.ceil(seconds / 60))
    return QueueOut(
        place=place.position,
        ahead=place.position - 1,
        estimated_answer_at=place.estimated_answer_at,
        estimate_minutes=minutes,
    )


class TicketViewOut(TicketDetailOut):
    """GET of one ticket: the detail, and its place in the queue while it waits."""

    queue: QueueOut | None = Field(
        description="While the ticket waits in a team's queue for its first answer (new or "
        "open, none yet): its place and the estimate of that answer; otherwise null."
    )

    @staticmethod
    def resolve_queue(obj: Any) -> QueueOut | None:
        return queue_out(obj, timezone.now())


class TicketCreateIn(InSchema):
    subject: str = Field(max_length=250)
    body: str = Field("", description="Plain text of the first message (or give body_html).")
    body_html: str = Field("", description="HTML of the first message; it is sanitized.")
    requester_id: int | None = Field(None, description="Agents: the customer this is for.")
    requester_email: str | None = Field(
        None,
        max_length=254,
        description="Agents: the customer's e-mail; an unknown address creates the customer.",
    )
    channel: ChannelName = "api"
    priority: PriorityName = Field("normal", description="Customers may not change it.")
    category_id: int | None = None
    tags: list[str] = Field(default_factory=list, description="Agents only.")
    team_id: int | None = Field(None, description="Agents only; default: the default team.")
    assignee_id: int | Me | None = Field(None, description="Agents only.")
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class TicketUpdateIn(InSchema):
    """PATCH: send only what changes. `status` moves it through the status machine."""

    subject: str | None = Field(None, max_length=250)
    priority: PriorityName | None = None
    category_id: int | None = Field(None, description="null clears the category.")
    tags: list[str] | None = Field(None, description="Replaces all tags.")
    custom_fields: dict[str, Any] | None = Field(
        None, description="Merged into the current values; a null value removes a field."
    )
    status: StatusName | None = None


class StatusIn(InSchema):
    status: StatusName


class AssignIn(InSchema):
    assignee_id: int | Me


class TransferIn(InSchema):
    team_id: int
    note: str = Field("", max_length=10_000)


class EscalateIn(InSchema):
    note: str = Field(max_length=10_000, description="The hand-off note (required).")


class MergeIn(InSchema):
    into_id: int = Field(
        description="The ticket this one is merged into (and closed in favour of)."
    )


class LinkIn(InSchema):
    other_id: int
    kind: LinkKind = Field(
        description="related; parent (this ticket is the parent of the other); "
        "follow_up (this ticket follows up the other)."
    )


class WatcherIn(InSchema):
    user_id: int | Me


# --- messages ---------------------------------------------------------------------------


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    url: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return f"/api/v1/attachments/{obj.pk}"


class MessageOut(Schema):
    id: int
    ticket_id: int
    kind: Literal["public", "internal"]
    author: UserRef
    channel: ChannelName
    body_text: str
    body_html: str
    created_at: datetime
    moved_from_id: int | None
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())


class ReplyIn(InSchema):
    body: str = ""
    body_html: str = ""
    status: StatusName | None = Field(None, description="Agents: set this status with the reply.")


class NoteIn(InSchema):
    body: str = ""
    body_html: str = ""


# --- links and audit --------------------------------------------------------------------


class LinkOut(Schema):
    kind: Literal["related", "parent", "child", "follow_up_of", "followed_up_by"] = Field(
        description="The other ticket as seen from this one (its parent, child, ...)."
    )
    ticket: TicketRef
    created_at: datetime


class AuditEntryOut(Schema):
    id: int
    action: str
    field: str
    before: Any = None
    after: Any = None
    note: str
    actor: UserRef | None
    created_at: datetime
