"""Which ticket a reply belongs to, from the Message-IDs we sent (used by inbound mail)."""

from __future__ import annotations

from collections.abc import Iterable

from helpline.notifications.models import OutboundEmail


def normalize_message_id(value: str) -> str:
    """A Message-ID without angle brackets and surrounding space."""
    return value.strip().strip("<>").strip()


def sent_tickets(message_ids: Iterable[str]) -> dict[str, int]:
    """{Message-ID (normalized): ticket} of the ones that are e-mails we sent."""
    wanted = {normalize_message_id(value) for value in message_ids if value} - {""}
    if not wanted:
        return {}
    rows = OutboundEmail.objects.filter(message_id__in=sorted(wanted), ticket__isnull=False)
    return dict(rows.values_list("message_id", "ticket_id"))
