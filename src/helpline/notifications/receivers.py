"""Ticket events that send e-mail: agent replies out to customers, and notifications."""

from __future__ import annotations

from typing import Any

from helpline.core.events import batch_receiver, receiver
from helpline.notifications import recipients
from helpline.notifications.models import Kind
from helpline.notifications.services import EmailRequest, queue_email, queue_emails
from helpline.routing import eta
from helpline.tickets import events
from helpline.tickets.models import Message, Status, Ticket


def _tickets(ticket_ids: list[int]) -> dict[int, Ticket]:
    if not ticket_ids:
        return {}
    return Ticket.objects.select_related("requester", "assignee", "team").in_bulk(ticket_ids)


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
    ticket_created_many([(event, record)])


@batch_receiver(events.TicketCreated, of=ticket_created)
def ticket_created_many(items: list[tuple[events.TicketCreated, Any]]) -> None:
    """The receipt e-mail to the customer, with their place in the queue."""
    tickets = _tickets([event.ticket_id for event, _record in items])
    messages = Message.objects.in_bulk([event.message_id for event, _record in items])
    wanted = [
        (event, record, tickets[event.ticket_id])
        for event, record in items
        if event.ticket_id in tickets and not tickets[event.ticket_id].requester.is_staff_member
    ]
    places = eta.queue_places([ticket for _event, _record, ticket in wanted])
    queue_emails(
        kind=Kind.TICKET_RECEIVED,
        requests=[
            EmailRequest(
                ticket=ticket,
                recipient=ticket.requester,
                dedupe=str(record.uuid),
                ticket_message=messages.get(event.message_id),
                extra={"queue": places[ticket.pk]},
            )
            for event, record, ticket in wanted
        ],
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
    assigned_many([(event, record)])


@batch_receiver(events.Assigned, of=assigned)
def assigned_many(items: list[tuple[events.Assigned, Any]]) -> None:
    """An e-mail to the new assignee, unless they took the ticket themselves."""
    wanted = [
        (event, record)
        for event, record in items
        if event.assignee_id is not None and event.assignee_id != record.actor_id
    ]
    tickets = _tickets([event.ticket_id for event, _record in wanted])
    requests = []
    for event, record in wanted:
        ticket = tickets.get(event.ticket_id)
        if ticket is None or ticket.assignee is None or ticket.assignee_id != event.assignee_id:
            continue
        requests.append(
            EmailRequest(ticket=ticket, recipient=ticket.assignee, dedupe=str(record.uuid))
        )
    queue_emails(kind=Kind.ASSIGNED, requests=requests)
