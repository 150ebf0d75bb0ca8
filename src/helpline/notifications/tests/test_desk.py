"""The desk thread shows each reply's e-mail state; the customer portal does not."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpline.tickets import services as tickets

pytestmark = pytest.mark.django_db


def test_desk_thread_shows_delivery_state_portal_does_not(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    smtp_peer.answer_rcpt("451 4.3.0 Mailbox temporarily unavailable")
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Wi-Fi", body="Drops")
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Move closer <b>please</b>")

    agent = Client()
    agent.force_login(desk.agent1)
    page = agent.get(reverse("tickets:desk_ticket", args=[ticket.pk])).content.decode()
    assert 'class="deliveries' in page
    assert "Retrying" in page
    assert "E-mail to alice@acme.test" in page
    assert "451 4.3.0 Mailbox temporarily unavailable" in page
    assert "1 attempt failed, next at" in page

    customer = Client()
    customer.force_login(desk.alice)
    page = customer.get(reverse("tickets:portal_request", args=[ticket.pk])).content.decode()
    assert "Move closer" in page
    assert 'class="deliveries' not in page
    assert "451 4.3.0" not in page


def test_desk_thread_shows_sent_and_failed_with_the_servers_answer(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Printer", body="Jammed")
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Open tray 2.")
    smtp_peer.answer_rcpt("550 5.1.1 <alice@acme.test>: Recipient address rejected")
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Did it help?")

    agent = Client()
    agent.force_login(desk.agent1)
    page = agent.get(reverse("tickets:desk_ticket", args=[ticket.pk])).content.decode()
    sent, failed = page.split("Open tray 2.")[1].split("Did it help?")
    assert ">Sent</span>" in sent and "delivery-error" not in sent
    assert ">Failed</span>" in failed
    assert "550 5.1.1 &lt;alice@acme.test&gt;: Recipient address rejected" in failed
