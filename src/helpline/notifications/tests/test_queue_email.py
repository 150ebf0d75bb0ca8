"""The acknowledgement e-mail tells the customer their place in the queue and an estimate of
the first answer, in their language and time zone, and nothing about other tickets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from helpline.accounts import services as accounts
from helpline.notifications.models import Kind, OutboundEmail
from helpline.routing import eta
from helpline.tickets import services as tickets
from helpline.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def answered_recently(desk: Any, count: int) -> None:
    """`count` tickets of L1 (the default team) answered for the first time lately."""
    for n in range(count):
        ticket = tickets.ticket_create(
            actor=desk.agent1, requester=desk.carol, subject=f"Answered {n}", body="x"
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            first_response_at=timezone.now() - timedelta(hours=n + 1), status="open"
        )


def around(moment: datetime) -> list[datetime]:
    """The estimate moves with the clock: the e-mail was written a moment before the test
    recomputes it, maybe in the previous minute."""
    return [moment - timedelta(minutes=1), moment]


def received(committed: Any, customer: Any, subject: str = "Mine") -> tuple[Ticket, Any]:
    with committed():
        ticket = tickets.ticket_create(actor=customer, subject=subject, body="Private words")
    mail = OutboundEmail.objects.get(ticket=ticket, kind=Kind.TICKET_RECEIVED)
    return Ticket.objects.get(pk=ticket.pk), mail


def test_the_acknowledgement_has_the_place_and_the_estimate(desk: Any, committed: Any) -> None:
    answered_recently(desk, 7)
    ahead, _mail = received(committed, desk.bob, "Secret of Bob")
    ticket, mail = received(committed, desk.dave)
    place = eta.queue_place(ticket)
    assert place is not None and place.position == 2 and place.estimated_answer_at is not None
    for body in (mail.body_text, mail.body_html):
        assert "You are number 2 in the queue." in body
        assert "We expect to answer around" in body
        assert "(an estimate based on recent replies)" in body
        for private in ("Secret of Bob", "Private words", "Bob Acme", f"#{ahead.pk}"):
            assert private not in body
    # the estimate, to the minute, in the site's time zone (UTC; dave has none of his own)
    with translation.override("en"):
        shown = [
            date_format(timezone.localtime(when, ZoneInfo("UTC")), "DATETIME_FORMAT")
            for when in around(place.estimated_answer_at)
        ]
    assert any(f"We expect to answer around {when} UTC (an" in mail.body_text for when in shown)


def test_without_recent_answers_the_acknowledgement_says_so(desk: Any, committed: Any) -> None:
    _ticket, mail = received(committed, desk.dave)
    assert "You are number 1 in the queue." in mail.body_text
    assert "We cannot estimate yet when we will answer." in mail.body_text
    assert "We expect" not in mail.body_text


@pytest.mark.parametrize(
    ("language", "position", "estimate"),
    [
        ("ru", "Ваш номер в очереди: 1.", "Мы рассчитываем ответить около"),
        ("zh-hans", "您在队列中排第 1 位。", "我们预计在"),
    ],
)
def test_the_acknowledgement_speaks_the_customers_language_and_time(
    desk: Any, committed: Any, language: str, position: str, estimate: str
) -> None:
    answered_recently(desk, 7)
    accounts.user_update(actor=desk.dave, user=desk.dave, language=language, time_zone="Asia/Tokyo")
    ticket, mail = received(committed, desk.dave)
    place = eta.queue_place(ticket)
    assert place is not None and place.estimated_answer_at is not None
    local = [
        timezone.localtime(when, ZoneInfo("Asia/Tokyo"))
        for when in around(place.estimated_answer_at)
    ]
    for body in (mail.body_text, mail.body_html):
        assert position in body and estimate in body
        assert any(f"{when.hour}:{when.minute:02d} JST" in body for when in local)
        assert "You are number" not in body


def test_an_answered_ticket_gets_no_queue_lines(desk: Any, committed: Any) -> None:
    # An agent opening a ticket for a customer and answering at once: no queue to speak of
    with committed():
        ticket = tickets.ticket_create(
            actor=desk.agent1, requester=desk.dave, subject="Phone call", body="x"
        )
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Done on the phone")
    mail = OutboundEmail.objects.get(ticket=ticket, kind=Kind.TICKET_RECEIVED)
    assert "in the queue" not in mail.body_text and "estimate" not in mail.body_text
