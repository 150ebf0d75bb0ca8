"""Reads of stored inbound mail, scoped to what the viewer may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Min, Q, QuerySet

from helpline.accounts.models import User
from helpline.core.errors import NotFound
from helpline.mail.models import InboundEmail, Mailbox, SenderStatus
from helpline.tickets.access import visible_tickets
from helpline.tickets.models import Attachment, Message


def inbound_for_agent(*, actor: User, inbound_id: int) -> InboundEmail:
    """A stored message, for agents who see its ticket (admins and supervisors: any)."""
    rows = InboundEmail.objects.filter(pk=inbound_id)
    if not actor.is_staff_member:
        raise NotFound()
    if not actor.sees_all_tickets:
        rows = rows.filter(ticket__in=visible_tickets(actor).values("pk"))
    row = rows.first()
    if row is None:
        raise NotFound()
    return row


def inline_attachment(*, actor: User, inbound_id: int, content_id: str) -> Attachment:
    """The stored attachment behind a `cid:` image of an inbound message."""
    row = InboundEmail.objects.filter(pk=inbound_id, ticket_message__isnull=False).first()
    digest = (row.extra.get("inline") or {}).get(content_id.lower()) if row else None
    if row is None or not digest or row.ticket_message_id is None:
        raise NotFound()
    rows = Attachment.objects.filter(
        message_id=row.ticket_message_id,
        sha256=digest,
        message__ticket__in=visible_tickets(actor).values("pk"),
    )
    if not actor.is_staff_member:
        rows = rows.filter(message__kind=Message.Kind.PUBLIC)
    attachment = rows.first()
    if attachment is None:
        raise NotFound()
    return attachment


def is_failing(address: str) -> bool:
    """True if bounces marked `address` as failing: we send it no more mail."""
    return SenderStatus.objects.filter(address=address.strip().lower(), failing=True).exists()


def inbound_message_ids(ticket_id: int) -> list[str]:
    """Message-IDs of the e-mails that became messages of the ticket, oldest first."""
    return list(
        InboundEmail.objects.filter(
            ticket_id=ticket_id, state=InboundEmail.State.PROCESSED, kind=InboundEmail.Kind.MESSAGE
        )
        .exclude(message_id="")
        .order_by("received_at", "pk")
        .values_list("message_id", flat=True)
    )


def ticket_mailbox_addresses(ticket_ids: Iterable[int]) -> dict[int, str]:
    """For each of the tickets that e-mail reached, the address (lowercase) of the mailbox
    its first e-mail came through, by ticket id: one query for any number of tickets."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    messages = InboundEmail.objects.filter(
        ticket_id__in=ids, state=InboundEmail.State.PROCESSED, kind=InboundEmail.Kind.MESSAGE
    )
    firsts = messages.order_by().values("ticket_id").annotate(first=Min("pk")).values("first")
    rows = InboundEmail.objects.filter(pk__in=firsts).values_list("ticket_id", "mailbox__address")
    return {ticket_id: address.strip().lower() for ticket_id, address in rows}


COUNTED_STATES = ("received", "processed", "rejected", "failed")


def mailboxes_with_counts() -> QuerySet[Mailbox]:
    """Every mailbox with its team and category and, per processing state, the number of
    stored messages (`count_received`, `count_processed`, ...): one query for any number."""
    counts = {
        f"count_{state}": Count("inbound", filter=Q(inbound__state=state))
        for state in COUNTED_STATES
    }
    return Mailbox.objects.select_related("team", "category").annotate(**counts).order_by("address")


def recent_rejections(mailbox: Mailbox, *, limit: int = 20) -> list[InboundEmail]:
    """The mailbox's latest rejected (and failed) messages with their reasons, newest first;
    the raw bytes are not loaded."""
    rows = InboundEmail.objects.filter(
        mailbox=mailbox, state__in=[InboundEmail.State.REJECTED, InboundEmail.State.FAILED]
    ).only(
        "id",
        "mailbox_id",
        "state",
        "sender",
        "subject",
        "rejection_reason",
        "detail",
        "received_at",
        "ticket_id",
    )
    return list(rows.order_by("-id")[:limit])
