"""What this app asks of other apps: bouncing addresses, received Message-IDs and the
mailboxes tickets came through (inbound mail), follow links (the portal's self-service),
desk and portal addresses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from helpline.accounts import selfservice
from helpline.mail import selectors as mail_selectors


def is_failing(address: str) -> bool:
    """True if inbound mail recorded bounces that mark `address` as failing."""
    return mail_selectors.is_failing(address)


def inbound_message_ids(ticket_id: int) -> list[str]:
    """Message-IDs (no angle brackets) of e-mails received into the ticket, oldest first."""
    return [value.strip("<>") for value in mail_selectors.inbound_message_ids(ticket_id)]


def ticket_mailbox_addresses(ticket_ids: list[int]) -> dict[int, str]:
    """The address (lowercase) of the mailbox each ticket's first e-mail came through, for
    the tickets that came in by e-mail: one read for the batch."""
    return mail_selectors.ticket_mailbox_addresses(ticket_ids)


def customer_link(ticket: Any, recipient: Any) -> str:
    """For the requester, a signed link to follow the ticket without a password; for
    anyone else (people in Cc), the portal page, which asks them to sign in."""
    if recipient.pk == ticket.requester_id:
        return selfservice.follow_link(ticket)
    return f"{settings.BASE_URL}{reverse('tickets:portal_request', args=[ticket.pk])}"


def agent_link(ticket: Any) -> str:
    return f"{settings.BASE_URL}{reverse('tickets:desk_ticket', args=[ticket.pk])}"
