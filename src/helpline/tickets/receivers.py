"""Ticket receivers: keep the full-text search index in step with tickets and messages."""

from __future__ import annotations

from typing import Any

from helpline.core import search
from helpline.core.events import batch_receiver, receiver
from helpline.tickets.events import FieldsChanged, Merged, MessageAdded, TicketCreated


@receiver(TicketCreated, stage="analytics")
@receiver(MessageAdded, stage="analytics")
def index_ticket(event: TicketCreated | MessageAdded, record: Any) -> None:
    search.index_ticket(event.ticket_id)


@batch_receiver(TicketCreated, of=index_ticket)
@batch_receiver(MessageAdded, of=index_ticket)
def index_tickets(items: list[tuple[TicketCreated | MessageAdded, Any]]) -> None:
    search.index_tickets(event.ticket_id for event, _record in items)


@receiver(FieldsChanged, stage="analytics")
def reindex_on_subject_change(event: FieldsChanged, record: Any) -> None:
    if "subject" in event.changes:
        search.index_ticket(event.ticket_id)


@receiver(Merged, stage="analytics")
def reindex_merged(event: Merged, record: Any) -> None:
    search.index_tickets([event.ticket_id, event.into_ticket_id])
