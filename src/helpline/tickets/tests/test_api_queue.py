"""GET /api/v1/tickets/{id} tells a ticket waiting for its first answer its place in the
queue and the estimate of that answer (`routing.eta`), as the portal does; the list does not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from helpline.core.api_testing import api_call
from helpline.routing import eta
from helpline.tickets import services
from helpline.tickets.models import Ticket

TICKETS = "/api/v1/tickets"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Any:
    cache.clear()
    yield
    cache.clear()


def answered_recently(desk: Any, count: int) -> None:
    """`count` tickets of L1 that got their first answer in the last hours."""
    for n in range(count):
        ticket = services.ticket_create(
            actor=desk.agent1, requester=desk.carol, subject=f"Answered {n}", body="x"
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_at=timezone.now() - timedelta(hours=n + 1), status="open"
        )


def queue(client: Client, user: Any, ticket: Any) -> Any:
    body = api_call(client, "get", f"{TICKETS}/{ticket.pk}", user=user, expect=200).json()
    return body["queue"]


def minutes_until(moment: datetime) -> float:
    return (moment - timezone.now()).total_seconds() / 60


def test_the_requester_sees_place_and_estimate_while_waiting(client: Client, desk: Any) -> None:
    answered_recently(desk, 7)
    # Bob (premium) waits ahead of Dave
    ahead = services.ticket_create(actor=desk.bob, subject="Bob's", body="x")
    ticket = services.ticket_create(actor=desk.dave, subject="Mine", body="x")
    shown = queue(client, desk.dave, ticket)
    assert shown["place"] == 2 and shown["ahead"] == 1
    # the estimate is routing.eta's, in minutes from now
    expected = eta.queue_place(Ticket.objects.get(pk=ticket.pk))
    assert expected is not None and expected.estimated_answer_at is not None
    answer_at = datetime.fromisoformat(shown["estimated_answer_at"])
    assert abs((answer_at - expected.estimated_answer_at).total_seconds()) < 60
    assert shown["estimate_minutes"] >= 1
    assert abs(shown["estimate_minutes"] - minutes_until(answer_at)) <= 1
    # Nothing else of the queue: no ids, subjects or customers of other tickets
    assert set(shown) == {"place", "ahead", "estimated_answer_at", "estimate_minutes"}
    # When the ticket ahead is answered, Dave moves up and his estimate comes sooner
    services.ticket_reply(actor=desk.agent1, ticket=ahead, body="Here to help")
    moved = queue(client, desk.dave, ticket)
    assert moved["place"] == 1 and moved["ahead"] == 0
    assert moved["estimate_minutes"] < shown["estimate_minutes"]
    # Once answered it no longer waits: null
    services.ticket_reply(actor=desk.agent1, ticket=ticket, body="Here to help")
    assert queue(client, desk.dave, ticket) is None


def test_the_estimate_follows_the_teams_throughput(client: Client, desk: Any) -> None:
    ticket = services.ticket_create(actor=desk.dave, subject="Mine", body="x")
    # no first answers lately: a place but no estimate
    shown = queue(client, desk.dave, ticket)
    assert shown == {
        "place": 1,
        "ahead": 0,
        "estimated_answer_at": None,
        "estimate_minutes": None,
    }
    answered_recently(desk, 4)
    slow = queue(client, desk.dave, ticket)["estimate_minutes"]
    answered_recently(desk, 12)
    fast = queue(client, desk.dave, ticket)["estimate_minutes"]
    # four times the answers (16 against 4): about a quarter of the wait (the desk has no
    # business calendar, so the estimate is in calendar time)
    assert slow is not None and fast is not None
    assert abs(fast * 4 - slow) <= 4


def test_no_queue_for_tickets_that_do_not_wait(client: Client, desk: Any) -> None:
    ticket = services.ticket_create(actor=desk.dave, subject="Mine", body="x")
    services.ticket_change_status(actor=desk.dave, ticket=ticket, status="solved")
    assert queue(client, desk.dave, ticket) is None


def test_another_customer_sees_neither_the_ticket_nor_its_place(client: Client, desk: Any) -> None:
    ticket = services.ticket_create(actor=desk.dave, subject="Mine", body="x")
    api_call(client, "get", f"{TICKETS}/{ticket.pk}", user=desk.carol, expect=404)


def test_the_list_has_no_queue(client: Client, desk: Any) -> None:
    services.ticket_create(actor=desk.dave, subject="Mine", body="x")
    items = api_call(client, "get", TICKETS, user=desk.dave, expect=200).json()["items"]
    assert items and all("queue" not in item for item in items)
