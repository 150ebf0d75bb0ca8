"""Reads for tickets: every queryset is scoped to what the viewer may see, N+1-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Prefetch, QuerySet

from helpline.accounts.models import User
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.tickets.access import visible_tickets
from helpline.tickets.models import (
    Attachment,
    AuditEntry,
    Message,
    Priority,
    Tag,
    Ticket,
    TicketLink,
)


@dataclass
class TicketFilters:
    """Filters shared by the API list, search, and the desk's saved views."""

    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    team: int | None = None
    assignee: int | None = None
    unassigned: bool = False
    organization: int | None = None
    requester: int | None = None
    category: int | None = None
    channel: str | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    q: str = ""


def ticket_list(*, actor: User, filters: TicketFilters | None = None) -> QuerySet[Ticket]:
    """Tickets the actor may see, filtered; related rows joined for list display."""
    return with_list_relations(ticket_filter(actor=actor, filters=filters))


def ticket_filter(*, actor: User, filters: TicketFilters | None = None) -> QuerySet[Ticket]:
    """Tickets the actor may see, filtered; nothing joined (see `ticket_list_rows`)."""
    filters = filters or TicketFilters()
    queryset = visible_tickets(actor)
    if filters.status:
        queryset = queryset.filter(status__in=filters.status)
    if filters.priority:
        try:
            values = [Priority.from_name(name) for name in filters.priority]
        except ValueError:
            raise ValidationError("Unknown priority.", fields={"priority": "invalid"}) from None
        queryset = queryset.filter(priority__in=values)
    if filters.team is not None:
        queryset = queryset.filter(team_id=filters.team)
    if filters.unassigned:
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee is not None:
        queryset = queryset.filter(assignee_id=filters.assignee)
    if filters.organization is not None:
        queryset = queryset.filter(organization_id=filters.organization)
    if filters.requester is not None:
        queryset = queryset.filter(requester_id=filters.requester)
    if filters.category is not None:
        queryset = queryset.filter(category_id=filters.category)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    if filters.created_after:
        queryset = queryset.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        queryset = queryset.filter(created_at__lt=filters.created_before)
    if filters.updated_after:
        queryset = queryset.filter(updated_at__gte=filters.updated_after)
    if filters.updated_before:
        queryset = queryset.filter(updated_at__lt=filters.updated_before)
    if filters.q.strip():
        from helpline.core import search

        queryset = queryset.filter(
            pk__in=search.matching_ticket_ids(filters.q, include_internal=actor.is_staff_member)
        )
    return queryset


def with_list_relations(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return queryset.select_related(
        "requester", "organization", "team", "assignee", "category"
    ).prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))


# The columns of one ticket list row (`ticket_list_rows`): the ticket's own, no joins.
# Both "pk" and "id": `helpline.api.paginate` reads the cursor from `row.pk` and the sort field.
LIST_ROW_COLUMNS = (
    "pk",
    "id",
    "subject",
    "status",
    "priority",
    "channel",
    "requester_id",
    "organization_id",
    "team_id",
    "assignee_id",
    "category_id",
    "custom_fields",
    "merged_into_id",
    "message_count",
    "created_at",
    "updated_at",
    "first_response_at",
    "solved_at",
    "closed_at",
    "sla_due_at",
)


def ticket_list_rows(queryset: QuerySet[Ticket]) -> QuerySet[Any]:
    """`ticket_filter`'s tickets as plain named tuples of `LIST_ROW_COLUMNS`, no model
    instances.

    The ticket table alone: joining the five named rows (requester, assignee, organization,
    team, category) cost PostgreSQL 3-10 ms of planning per query at 1M tickets, more than
    running it. `ticket_list_names` fetches what a page shows of them.
    """
    return queryset.values_list(*LIST_ROW_COLUMNS, named=True)


@dataclass
class ListNames:
    """What a page of ticket rows shows of the rows they refer to, by id: the names of
    people, organizations, teams and categories, and each ticket's tag names."""

    people: dict[int, str] = field(default_factory=dict)
    organizations: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)


# One part of `ticket_list_names`' statement per kind of row: (kind, the ListNames field,
# the SELECT with "{}" for the test of the ids, see `_among`). Every part gives (kind, id,
# name, first name, last name, e-mail); tags give (kind, ticket id, tag name, ...).
_NAME_PARTS = (
    (
        0,
        "people",
        "SELECT 0, id, display_name, first_name, last_name, email FROM accounts_user WHERE id {}",
    ),
    (
        1,
        "organizations",
        "SELECT 1, id, name, '', '', '' FROM accounts_organization WHERE id {}",
    ),
    (2, "teams", "SELECT 2, id, name, '', '', '' FROM accounts_team WHERE id {}"),
    (3, "categories", "SELECT 3, id, name, '', '', '' FROM tickets_category WHERE id {}"),
    (
        4,
        "tags",
        "SELECT 4, tt.ticket_id, t.name, '', '', '' FROM tickets_ticket_tags tt "
        "JOIN tickets_tag t ON t.id = tt.tag_id WHERE tt.ticket_id {}",
    ),
)
_PEOPLE, _TAGS = 0, 4


def _among(ids: list[int]) -> tuple[str, list[Any]]:
    """SQL testing a column against `ids`, and its parameters. PostgreSQL: one array, so
    the statement's text is the same on every page and psycopg parses it once (with a
    placeholder per id it parsed each new one, about 1 ms of CPU for a page of 50)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [ids]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


def ticket_list_names(rows: list[Any]) -> ListNames:
    """The names of the people, organizations, teams and categories `rows` (from
    `ticket_list_rows`) refer to, and the tickets' tag names (alphabetically), in one
    statement. People are named as `User.name` names them.

    Plain SQL: compiling the same union with the ORM cost about 3 ms of CPU per page,
    ten times running it."""
    names = ListNames()
    wanted: dict[int, set[Any]] = {
        0: {row.requester_id for row in rows} | {row.assignee_id for row in rows},
        1: {row.organization_id for row in rows},
        2: {row.team_id for row in rows},
        3: {row.category_id for row in rows},
        4: {row.id for row in rows},
    }
    parts: list[str] = []
    params: list[Any] = []
    for kind, _name, sql in _NAME_PARTS:
        ids = sorted(pk for pk in wanted[kind] if pk is not None)
        if ids:
            test, values = _among(ids)
            parts.append(sql.format(test))
            params += values
    if not parts:
        return names
    # Ordered by kind, then name: each ticket's tags come alphabetically.
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 3", params)
        found = cursor.fetchall()
    targets = [getattr(names, name) for _kind, name, _sql in _NAME_PARTS]
    for kind, pk, name, first_name, last_name, email in found:
        if kind == _TAGS:
            names.tags.setdefault(pk, []).append(name)
        elif kind == _PEOPLE:
            names.people[pk] = name or f"{first_name} {last_name}".strip() or email
        else:
            targets[kind][pk] = name
    return names


def ticket_detail(ticket: Ticket) -> Ticket:
    """Re-read an accessed ticket with everything its detail view shows."""
    return (
        with_list_relations(Ticket.objects.filter(pk=ticket.pk)).prefetch_related("watchers").get()
    )


def ticket_messages(*, actor: User, ticket: Ticket) -> QuerySet[Message]:
    """Messages of a ticket the actor has accessed; customers never see internal notes."""
    queryset = Message.objects.filter(ticket=ticket)
    if not actor.is_staff_member:
        queryset = queryset.filter(kind=Message.Kind.PUBLIC)
    return queryset.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )


def ticket_audit(*, actor: User, ticket: Ticket) -> QuerySet[AuditEntry]:
    """The audit trail: agents only."""
    if not actor.is_staff_member:
        raise PermissionDenied("Only agents may read the audit trail.")
    return AuditEntry.objects.filter(ticket=ticket).select_related("actor")


def ticket_links(*, actor: User, ticket: Ticket) -> list[dict[str, Any]]:
    """Links of a ticket, each as seen from this ticket, limited to tickets the actor sees."""
    visible = visible_tickets(actor).values("pk")
    rows: list[dict[str, Any]] = []
    outgoing = TicketLink.objects.filter(source=ticket, target__in=visible).select_related("target")
    incoming = TicketLink.objects.filter(target=ticket, source__in=visible).select_related("source")
    for link in outgoing:
        kind = {"parent": "child", "follow_up": "follow_up_of"}.get(link.kind, link.kind)
        rows.append({"kind": kind, "ticket": link.target, "created_at": link.created_at})
    for link in incoming:
        kind = {"parent": "parent", "follow_up": "followed_up_by"}.get(link.kind, link.kind)
        rows.append({"kind": kind, "ticket": link.source, "created_at": link.created_at})
    return rows


def attachment_for(*, actor: User, attachment_id: int) -> Attachment:
    """An attachment on a message the actor may see (customers: public messages only)."""
    from helpline.core.errors import NotFound

    queryset = Attachment.objects.filter(
        pk=attachment_id, message__ticket__in=visible_tickets(actor).values("pk")
    )
    if not actor.is_staff_member:
        queryset = queryset.filter(message__kind=Message.Kind.PUBLIC)
    attachment = queryset.select_related("message").first()
    if attachment is None:
        raise NotFound("Attachment not found.")
    return attachment


def user_for_actor(actor: User, user_id: int) -> User:
    """Resolve a user an agent refers to (requester, assignee). Agents only."""
    from helpline.core.errors import NotFound

    if not actor.is_staff_member:
        raise NotFound("User not found.")
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotFound("User not found.")
    return user
