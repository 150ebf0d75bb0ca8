"""Routing receivers: new, transferred and escalated tickets go to an agent of their team;
a priority change moves a ticket in its queue; freed capacity takes the next waiting work."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from helpline.core.events import batch_receiver, receiver
from helpline.routing import ordering, services
from helpline.tickets.events import (
    Assigned,
    Escalated,
    FieldsChanged,
    StatusChanged,
    TicketCreated,
    Transferred,
)
from helpline.tickets.models import Status, Ticket


@receiver(TicketCreated, stage="automation")
@receiver(Transferred, stage="automation")
@receiver(Escalated, stage="automation")
def assign_by_team_strategy(event: TicketCreated | Transferred | Escalated, record: Any) -> None:
    services.auto_assign(ticket_id=event.ticket_id)


@batch_receiver(TicketCreated, of=assign_by_team_strategy)
def assign_new_tickets(items: list[tuple[TicketCreated, Any]]) -> None:
    services.auto_assign_many(ticket_ids=[event.ticket_id for event, _record in items])


@receiver(FieldsChanged, stage="automation")
def requeue_on_priority(event: FieldsChanged, record: Any) -> None:
    if "priority" in event.changes:
        ordering.ticket_requeue(ticket_id=event.ticket_id)


def _reoffer_after_commit(agent_id: int) -> None:
    from helpline.core.tasks import enqueue
    from helpline.routing.tasks import reoffer_for_agent

    transaction.on_commit(lambda: enqueue(reoffer_for_agent, agent_id))


@receiver(StatusChanged, stage="automation")
def reoffer_when_solved(event: StatusChanged, record: Any) -> None:
    """An assigned ticket solved or closed frees a place in its agent's capacity."""
    if event.after not in (Status.SOLVED, Status.CLOSED) or event.before in services.DONE:
        return
    agent_id = Ticket.objects.filter(pk=event.ticket_id).values_list("assignee_id", flat=True)
    found = agent_id.first()
    if found is not None:
        _reoffer_after_commit(found)


@receiver(Assigned, stage="automation")
def reoffer_when_unassigned(event: Assigned, record: Any) -> None:
    """A ticket taken away from an agent (unassigned or given to someone else) frees a place."""
    if event.before_id is not None and event.before_id != event.assignee_id:
        _reoffer_after_commit(event.before_id)
