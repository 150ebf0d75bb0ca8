"""Which ticket a reply belongs to, from the Message-IDs we sent (used by inbound mail)."""

from __future__ import annotations

from helpline.notifications.models import OutboundEmail


def normalize_message_id(value: str) -> str:
    """A Message-ID without angle brackets and surrounding space."""
    return value.strip().strip("<>").strip()


def ticket_for_sent_message_ids(message_ids: list[str]) -> int | None:
    """The ticket of the first of `message_ids` that is an e-mail we sent, else None.

    Order matters: pass In-Reply-To first, then References from the newest."""
    wanted = [normalize_message_id(value) for value in message_ids if value and value.strip()]
    wanted = [value for value in wanted if value]
    if not wanted:
        return None
    rows = OutboundEmail.objects.filter(message_id__in=wanted[:200], ticket__isnull=False)
    found = dict(rows.values_list("message_id", "ticket_id"))
    for value in wanted:
        if value in found:
            return found[value]
    return None
