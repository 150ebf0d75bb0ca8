"""The portal request page tells a waiting customer their place in the queue and when we
expect to answer (an estimate), and nothing else about the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpline.accounts import services as accounts
from helpline.core.testing import PASSWORD
from helpline.routing import eta
from helpline.tickets import services
from helpline.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def page(user: Any, ticket: Any) -> str:
    response = client_for(user).get(reverse("tickets:portal_request", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def answered_recently(desk: Any, count: int) -> None:
    """`count` tickets of L1 that got their first answer in the last hours."""
    for n in range(count):
        ticket = services.ticket_create(
            actor=desk.agent1, requester=desk.carol, subject=f"Answered {n}", body="x"
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_at=timezone.now() - timedelta(hours=n + 1), status="open"
        )


def test_a_waiting_customer_sees_their_place_and_an_estimate(desk: Any) -> None:
    answered_recently(desk, 7)
    # Bob (premium) waits ahead of Dave
    ahead = services.ticket_create(actor=desk.bob, subject="Secret of Bob", body="Private words")
    ticket = services.ticket_create(actor=desk.dave, subject="Mine", body="x")
    body = page(desk.dave, ticket)
    assert "You are number 2 in the queue." in body
    assert "We expect to answer around" in body and "an estimate based on recent replies" in body
    # Nothing of the other waiting ticket shows (only that one is ahead)
    for private in ("Secret of Bob", "Private words", "Bob Acme", f"#{ahead.pk} "):
        assert private not in body
    # When the ticket ahead is answered, Dave moves up; once he is answered, no queue
    services.ticket_reply(actor=desk.agent1, ticket=ahead, body="Here to help")
    assert "You are number 1 in the queue." in page(desk.dave, ticket)
    services.ticket_reply(actor=desk.agent1, ticket=ticket, body="Here to help")
    assert "in the queue" not in page(desk.dave, ticket)


def test_the_estimate_is_shown_in_the_customers_time_zone_and_language(desk: Any) -> None:
    answered_recently(desk, 7)
    accounts.user_update(actor=desk.bob, user=desk.bob, language="ru", time_zone="Asia/Tokyo")
    ticket = services.ticket_create(actor=desk.bob, subject="Mine", body="x")
    place = eta.queue_place(Ticket.objects.get(pk=ticket.pk))
    assert place is not None and place.estimated_answer_at is not None
    body = page(desk.bob, ticket)
    assert "Ваш номер в очереди: 1." in body
    assert "Мы рассчитываем ответить около" in body
    # the page is rendered a moment after the estimate above, maybe in the next minute
    for when in (place.estimated_answer_at, place.estimated_answer_at + timedelta(minutes=1)):
        local = timezone.localtime(when, timezone=ZoneInfo("Asia/Tokyo"))
        if f"{local.hour}:{local.minute:02d}" in body:
            break
    else:
        raise AssertionError("the estimate is not shown in Tokyo time")


def test_without_recent_answers_there_is_no_estimate(desk: Any) -> None:
    ticket = services.ticket_create(actor=desk.bob, subject="Mine", body="x")
    body = page(desk.bob, ticket)
    assert "You are number 1 in the queue." in body
    assert "We cannot estimate yet when we will answer." in body
    assert "We expect to answer around" not in body


@pytest.mark.parametrize("count", [3, 30])
def test_waiting_request_page_query_budget(
    desk: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    answered_recently(desk, count)
    for n in range(count):
        services.ticket_create(actor=desk.dave, subject=f"Ahead {n}", body="x")
    ticket = services.ticket_create(actor=desk.alice, subject="Mine", body="x")
    client = client_for(desk.alice)
    url = reverse("tickets:portal_request", args=[ticket.pk])
    client.get(url)
    # the request page's budget (9) and the queue's three (place, throughput, calendar)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert "in the queue" in response.content.decode()
