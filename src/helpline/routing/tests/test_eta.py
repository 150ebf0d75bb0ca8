"""A waiting ticket's place in its team's queue and the estimate of its first answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpline.routing import eta
from helpline.sla import config as sla_config
from helpline.tickets import services as tickets
from helpline.tickets.models import Ticket

WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
# Wednesday 10:00 UTC; the window is the week back to the previous Wednesday 10:00
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def open_ticket(actor, subject="Help"):
    return tickets.ticket_create(actor=actor, subject=subject, body="x")


def place(ticket, now=NOW):
    return eta.queue_place(Ticket.objects.get(pk=ticket.pk), now=now)


def answered_at(team, *moments):
    """Tickets of `team` that got their first answer at these moments."""
    for moment in moments:
        ticket = tickets.ticket_create(
            actor=team.lead, requester=team.customer, subject="Old", body="x", team=team.team
        )
        Ticket.objects.filter(pk=ticket.pk).update(first_response_at=moment, status="open")


class Team:
    def __init__(self, desk, team):
        self.team, self.lead, self.customer = team, desk.agent1, desk.carol


def test_position_counts_the_waiting_tickets_ahead_and_moves_as_they_are_answered(desk):
    first = open_ticket(desk.dave, "First")
    second = open_ticket(desk.dave, "Second")
    # alice is a premium customer: her later ticket goes ahead of dave's (weight 0.35 > 0.15)
    premium = open_ticket(desk.alice, "Premium")
    assert [place(t).position for t in (premium, first, second)] == [1, 2, 3]
    # Tickets of another team, and tickets no longer waiting for a first answer, do not count
    tickets.ticket_create(
        actor=desk.agent2, requester=desk.bob, subject="L2", body="x", team=desk.l2
    )
    pending = open_ticket(desk.carol, "Pending")
    tickets.ticket_change_status(actor=desk.agent1, ticket=pending, status="pending_customer")
    assert place(second).position == 3
    # When the first is answered, everyone behind it moves up
    tickets.ticket_reply(actor=desk.agent1, ticket=first, body="On it")
    assert place(first) is None
    assert [place(t).position for t in (premium, second)] == [1, 2]
    # A solved ticket has no place either
    tickets.ticket_change_status(actor=desk.agent1, ticket=premium, status="solved")
    assert place(premium) is None
    assert place(second).position == 1


def test_estimate_from_the_teams_throughput_on_its_calendar(desk):
    # Given L1 working 9-17 on weekdays (UTC) ...
    sla_config.calendar_create(
        actor=desk.admin, name="Office", hours=WEEKDAYS_9_TO_5, teams=[desk.l1]
    )
    # ... and 20 first answers in the last week: Wed 10:00 .. Wed 10:00 holds
    # 7 + 8 + 8 + 8 + 8 + 1 = 40 business hours = 2400 minutes: one answer per 120 minutes
    team = Team(desk, desk.l1)
    answered_at(team, *(NOW - timedelta(hours=3 * n + 1) for n in range(20)))
    # (answers before the window, in the future, or of another team do not count)
    answered_at(team, NOW - timedelta(days=7, minutes=1), NOW + timedelta(minutes=1))
    answered_at(Team(desk, desk.l2), NOW - timedelta(hours=1))
    waiting = [open_ticket(desk.dave, f"Waiting {n}") for n in range(5)]
    # Then the third in the queue is expected 3 x 120 = 360 business minutes from now:
    # Wednesday 16:00; the fifth 600 minutes: 7 hours on Wednesday, 3 on Thursday, 12:00
    third, fifth = place(waiting[2]), place(waiting[4])
    assert third == eta.QueuePlace(
        position=3, estimated_answer_at=datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
    )
    assert fifth == eta.QueuePlace(
        position=5, estimated_answer_at=datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    )


def test_estimate_falls_back_to_the_default_calendar_then_calendar_time(desk):
    team = Team(desk, desk.l1)
    # 7 answers in 7 days of calendar time: one a day
    answered_at(team, *(NOW - timedelta(days=n, hours=1) for n in range(7)))
    waiting = [open_ticket(desk.dave, f"Waiting {n}") for n in range(2)]
    assert place(waiting[1]).estimated_answer_at == NOW + timedelta(days=2)
    # A default calendar (9-17 weekdays: 40 hours in the week, 7 answers): 2 x 40/7 hours
    sla_config.calendar_create(
        actor=desk.admin, name="Default", hours=WEEKDAYS_9_TO_5, is_default=True
    )
    expected = timedelta(hours=2 * 40 / 7)  # 11 h 26 min: 7 h on Wednesday, the rest Thursday
    got = place(waiting[1]).estimated_answer_at
    assert got == datetime(2026, 3, 5, 9, 0, tzinfo=UTC) + (expected - timedelta(hours=7))


def test_no_recent_answers_no_estimate(desk, django_assert_num_queries):
    team = Team(desk, desk.l1)
    answered_at(team, NOW - timedelta(days=8))
    ticket = Ticket.objects.get(pk=open_ticket(desk.dave).pk)
    with django_assert_num_queries(2):
        assert eta.queue_place(ticket, now=NOW) == eta.QueuePlace(
            position=1, estimated_answer_at=None
        )


@pytest.mark.parametrize("count", [1, 20])
def test_three_queries_whatever_the_queue(desk, count, django_assert_num_queries):
    team = Team(desk, desk.l1)
    answered_at(team, *(NOW - timedelta(hours=n + 1) for n in range(count)))
    waiting = [open_ticket(desk.dave, f"Waiting {n}") for n in range(count)]
    ticket = Ticket.objects.get(pk=waiting[-1].pk)
    with django_assert_num_queries(3):
        found = eta.queue_place(ticket, now=NOW)
    assert found is not None and found.position == count and found.estimated_answer_at


def test_queue_places_of_a_batch_are_each_tickets_queue_place(desk, django_assert_num_queries):
    # Given two teams with waiting tickets, answers in the window on L1's calendar, and a
    # ticket that waits no more
    sla_config.calendar_create(
        actor=desk.admin, name="Office", hours=WEEKDAYS_9_TO_5, teams=[desk.l1]
    )
    answered_at(Team(desk, desk.l1), *(NOW - timedelta(hours=3 * n + 1) for n in range(6)))
    batch = [open_ticket(desk.dave, f"Waiting {n}") for n in range(4)]
    batch.insert(1, open_ticket(desk.alice, "Premium"))  # ahead of dave's earlier ones
    batch += [
        tickets.ticket_create(
            actor=desk.agent2, requester=desk.bob, subject=s, body="x", team=desk.l2
        )
        for s in ("L2 a", "L2 b")
    ]
    alone = tickets.ticket_create(
        actor=desk.finance, requester=desk.bob, subject="F", body="x", team=desk.finance_team
    )
    batch.append(alone)
    solved = open_ticket(desk.carol, "Solved")
    tickets.ticket_change_status(actor=desk.agent1, ticket=solved, status="solved")
    rows = list(Ticket.objects.filter(pk__in=[t.pk for t in [*batch, solved]]).order_by("?"))
    # When the places of the batch are computed together: per team, two reads of its
    # waiting tickets (one count for Finance's only one), one count of answers, the
    # calendar (L2 and Finance have no answers: no calendar)
    with django_assert_num_queries((2 + 1 + 1) + (2 + 1) + (1 + 1)):
        places = eta.queue_places(rows, now=NOW)
    # Then each is what queue_place says for the ticket alone
    assert places == {row.pk: eta.queue_place(row, now=NOW) for row in rows}
    assert places[solved.pk] is None
    assert places[alone.pk] == eta.QueuePlace(position=1, estimated_answer_at=None)
    l1 = [places[t.pk] for t in batch[:5]]
    assert sorted(place.position for place in l1 if place is not None) == [1, 2, 3, 4, 5]
    premium = places[batch[1].pk]
    assert premium is not None and premium.position == 1 and premium.estimated_answer_at
