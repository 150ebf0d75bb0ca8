"""Events emitted by ticket services. Payloads are versioned; add fields, never repurpose."""

from __future__ import annotations

from helpline.core.events import DomainEvent


class TicketEvent(DomainEvent):
    ticket_id: int


class TicketCreated(TicketEvent):
    type = "ticket.created"
    description = "A ticket was created (any channel)."
    requester_id: int
    organization_id: int | None
    team_id: int | None
    channel: str
    priority: str
    status: str
    message_id: int


class MessageAdded(TicketEvent):
    type = "ticket.message_added"
    description = "A public reply or internal note was added to a ticket."
    message_id: int
    author_id: int
    kind: str
    by_customer: bool


class StatusChanged(TicketEvent):
    type = "ticket.status_changed"
    description = "A ticket's status changed."
    before: str
    after: str
    reason: str = ""


class FieldsChanged(TicketEvent):
    type = "ticket.fields_changed"
    description = "Subject, priority, category, tags or custom fields changed."
    changes: dict[str, list]


class Assigned(TicketEvent):
    type = "ticket.assigned"
    description = "A ticket was assigned to an agent, or unassigned (assignee_id null)."
    before_id: int | None
    assignee_id: int | None


class Transferred(TicketEvent):
    type = "ticket.transferred"
    description = "A ticket moved to another team."
    before_team_id: int | None
    team_id: int
    note: str


class Escalated(TicketEvent):
    type = "ticket.escalated"
    description = "A ticket was escalated to the next support line with a hand-off note."
    from_team_id: int
    to_team_id: int
    note: str


class Merged(TicketEvent):
    type = "ticket.merged"
    description = "This ticket was merged into another (ticket_id is the one closed)."
    into_ticket_id: int
    moved_message_ids: list[int]


class Linked(TicketEvent):
    type = "ticket.linked"
    description = "Two tickets were linked (or unlinked, linked=false)."
    other_ticket_id: int
    kind: str
    linked: bool


class WatchersChanged(TicketEvent):
    type = "ticket.watchers_changed"
    description = "Someone started or stopped watching a ticket."
    user_id: int
    watching: bool


# --- catalog (admin configuration of ticket fields) ------------------------------------


class CategoryCreated(DomainEvent):
    type = "category.created"
    description = "A ticket category was created."
    category_id: int
    parent_id: int | None


class CategoryUpdated(DomainEvent):
    type = "category.updated"
    description = "A ticket category was renamed, moved, (de)activated or re-described."
    category_id: int
    changes: dict[str, list]


class CustomFieldCreated(DomainEvent):
    type = "custom_field.created"
    description = "A custom ticket field was defined."
    custom_field_id: int
    key: str


class CustomFieldUpdated(DomainEvent):
    type = "custom_field.updated"
    description = "A custom ticket field definition changed."
    custom_field_id: int
    changes: dict[str, list]


class StatusConfigUpdated(DomainEvent):
    type = "status_config.updated"
    description = "A status's settings (SLA pause, position) changed."
    status: str
    changes: dict[str, list]
