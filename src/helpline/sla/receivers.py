"""SLA receivers: ticket events start, pause, resume, meet and retarget timers.

Each receiver works as of the event's time (`record.created_at`), so a late dispatch still
counts from when things happened. Escalations are transfers (the Transferred event carries
the hand-off); a merge closes the merged ticket (StatusChanged to closed cancels its timers).
"""

from __future__ import annotations

from typing import Any

from helpline.core.events import batch_receiver, receiver
from helpline.sla import services
from helpline.tickets.events import (
    FieldsChanged,
    MessageAdded,
    StatusChanged,
    TicketCreated,
    Transferred,
)

RETARGET_FIELDS = frozenset({"priority", "category"})


@receiver(TicketCreated, stage="sla")
def start_timers(event: TicketCreated, record: Any) -> None:
    start_timers_many([(event, record)])


@batch_receiver(TicketCreated, of=start_timers)
def start_timers_many(items: list[tuple[TicketCreated, Any]]) -> None:
    services.start_new_tickets(
        starts=[(event.ticket_id, record.created_at) for event, record in items]
    )


@receiver(MessageAdded, stage="sla")
def message_added(event: MessageAdded, record: Any) -> None:
    services.on_message(
        ticket_id=event.ticket_id,
        author_id=event.author_id,
        public=event.kind == "public",
        by_customer=event.by_customer,
        now=record.created_at,
    )


@receiver(StatusChanged, stage="sla")
def status_changed(event: StatusChanged, record: Any) -> None:
    services.on_status_changed(
        ticket_id=event.ticket_id, before=event.before, after=event.after, now=record.created_at
    )


@receiver(FieldsChanged, stage="sla")
def fields_changed(event: FieldsChanged, record: Any) -> None:
    if RETARGET_FIELDS & set(event.changes):
        services.sync_ticket(ticket_id=event.ticket_id, now=record.created_at)


@receiver(Transferred, stage="sla")
def transferred(event: Transferred, record: Any) -> None:
    services.on_transferred(
        ticket_id=event.ticket_id,
        before_team_id=event.before_team_id,
        team_id=event.team_id,
        now=record.created_at,
    )
