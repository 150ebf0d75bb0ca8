"""Ticket events that send e-mail: agent replies out to customers, and notifications."""

from __future__ import annotations

from typing import Any

from helpline.core.events import receiver
from helpline.notifications import recipients
from helpline.notifications.models import Kind
from helpline.notifications.services import queue_email
from helpline.routing import eta
from helpline.tickets import events
from helpline.tickets.models import Message, Status, Ticket


def _ticket(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_related("requester", "assignee", "team").filter(pk=ticket_id).first()
    )


@receiver(events.MessageAdded, stage="notifications")
def message_added(event: events.MessageAdded, record: Any) -> None:
    if event.kind != Message.Kind.PUBLIC:
        return
    ticket = _ticket(event.ticket_id)
    message = Message.objects.select_related("author").filter(pk=event.message_id).first()
    if ticket is None or message is None:
        return
    if message.author.is_staff_member and not event.by_customer:
        kind, people = Kind.REPLY, recipients.customers(ticket)
    else:
        kind, people = Kind.CUSTOMER_REPLIED, recipients.agents(ticket)
    for person in people:
        if person.pk != message.author_id:
            queue_email(
                kind=kind,
                ticket=ticket,
                recipient=person,
                dedupe=str(record.uuid),
                ticket_message=message,
            )


@receiver(events.TicketCreated, stage="notifications")
def ticket_created(event: events.TicketCreated, record: Any) -> None:
    ticket = _ticket(event.ticket_id)
    if ticket is None or ticket.requester.is_staff_member:
        return
    message = Message.objects.filter(pk=event.message_id).first()
    queue_email(
        kind=Kind.TICKET_RECEIVED,
        ticket=ticket,
        recipient=ticket.requester,
        dedupe=str(record.uuid),
        ticket_message=message,
        extra={"queue": eta.queue_place(ticket)},
    )


@receiver(events.StatusChanged, stage="notifications")
def status_changed(event: events.StatusChanged, record: Any) -> None:
    if event.after != Status.SOLVED:
        return
    ticket = _ticket(event.ticket_id)
    if ticket is None or ticket.requester.is_staff_member:
        return
    if record.actor_id == ticket.requester_id:
        return
    queue_email(
        kind=Kind.SOLVED, ticket=ticket, recipient=ticket.requester, dedupe=str(record.uuid)
    )


@receiver(events.Assigned, stage="notifications")
def assigned(event: events.Assigned, record: Any) -> None:
    if event.assignee_id is None or event.assignee_id == record.actor_id:
        return
    ticket = _ticket(event.ticket_id)
    if ticket is None or ticket.assignee is None or ticket.assignee_id != event.assignee_id:
        return
    queue_email(
        kind=Kind.ASSIGNED, ticket=ticket, recipient=ticket.assignee, dedupe=str(record.uuid)
    )
