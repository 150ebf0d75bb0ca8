"""Optional functions of other apps that this app uses when they are installed.

The inbound mail app knows which addresses bounce and the Message-IDs it received; the
self-service module makes follow links. Each lookup answers a safe default when the other
side does not provide the function, so outbound mail works without them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse


def _function(module: str, name: str) -> Callable[..., Any] | None:
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return found if callable(found) else None


def is_failing(address: str) -> bool:
    """True if inbound mail recorded bounces that mark `address` as failing."""
    check = _function("helpline.mail.selectors", "is_failing")
    return bool(check(address)) if check is not None else False


def inbound_message_ids(ticket_id: int) -> list[str]:
    """Message-IDs (no angle brackets) of e-mails received into the ticket, oldest first."""
    lookup = _function("helpline.mail.selectors", "inbound_message_ids")
    if lookup is None:
        return []
    return [str(value).strip("<>") for value in lookup(ticket_id) if value]


def customer_link(ticket: Any, recipient: Any) -> str:
    """For the requester, a signed link to follow the ticket without a password; for
    anyone else (people in Cc), the portal page, which asks them to sign in."""
    follow = _function("helpline.accounts.selfservice", "follow_link")
    if follow is not None and recipient.pk == ticket.requester_id:
        return str(follow(ticket))
    return f"{settings.BASE_URL}{reverse('tickets:portal_request', args=[ticket.pk])}"


def agent_link(ticket: Any) -> str:
    return f"{settings.BASE_URL}{reverse('tickets:desk_ticket', args=[ticket.pk])}"
