"""Given e-mails we sent, when a reply names their Message-IDs, then we find the ticket."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.mail.services import find_ticket_for_ids
from helpline.notifications.models import Kind, OutboundEmail
from helpline.tickets import services as tickets

pytestmark = pytest.mark.django_db


def _sent(ticket: Any, message_id: str) -> OutboundEmail:
    return OutboundEmail.objects.create(
        message_id=message_id,
        kind=Kind.REPLY,
        ticket=ticket,
        from_address="support@helpline.test",
        recipients=["alice@acme.test"],
        subject=f"[#{ticket.pk}] Printer",
        body_text="Hello",
        dedupe_key=message_id,
    )


def test_finds_ticket_of_first_known_id(desk: Any) -> None:
    first = tickets.ticket_create(actor=desk.alice, subject="Printer", body="Broken")
    second = tickets.ticket_create(actor=desk.bob, subject="Scanner", body="Broken")
    _sent(first, "a1@helpline.test")
    _sent(second, "b1@helpline.test")

    assert find_ticket_for_ids(["<a1@helpline.test>"]) == first
    assert find_ticket_for_ids(["unknown@x", " <b1@helpline.test> "]) == second
    # In-Reply-To comes first and wins over older References.
    assert find_ticket_for_ids(["b1@helpline.test", "a1@helpline.test"]) == second


def test_unknown_or_empty_ids_find_nothing(desk: Any) -> None:
    ticket = tickets.ticket_create(actor=desk.alice, subject="Printer", body="Broken")
    _sent(ticket, "a1@helpline.test")

    assert find_ticket_for_ids([]) is None
    assert find_ticket_for_ids(["", "  ", "<>"]) is None
    assert find_ticket_for_ids(["A1@helpline.test"]) is None  # ids are case-sensitive
    assert find_ticket_for_ids(["nobody@elsewhere"]) is None
