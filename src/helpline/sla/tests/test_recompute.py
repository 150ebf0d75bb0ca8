"""Bulk recompute after a calendar change."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from helpline.accounts.models import User
from helpline.sla import config
from helpline.sla.models import Calendar, SlaTimer
from helpline.sla.recompute import recompute_running
from helpline.sla.services import CalendarCache, schedule
from helpline.sla.tests.conftest import at, timers
from helpline.tickets.models import Ticket


def test_recompute_moves_deadlines_after_a_new_holiday(desk, clock, office, standard, open_ticket):
    ticket = open_ticket()
    clock.set(2026, 3, 9, 16, 30)
    other = open_ticket()
    assert timers(other)["first_response"].due_at == at(2026, 3, 10, 9, 30)
    # Tuesday 10 March becomes a holiday: tickets' deadlines move on Wednesday's hours.
    config.calendar_update(actor=desk.admin, calendar=office, holidays=["2026-03-10"])
    assert recompute_running() == 2  # the second ticket's two timers moved
    assert timers(other)["first_response"].due_at == at(2026, 3, 11, 9, 30)
    assert timers(other)["first_response"].warn_at == at(2026, 3, 11, 9, 15)
    # The first ticket's resolution (Mon 09:00 + 8h) still ends Monday 17:00.
    assert timers(ticket)["resolution"].due_at == at(2026, 3, 9, 17)
    ticket.refresh_from_db()
    other.refresh_from_db()
    assert ticket.sla_due_at == at(2026, 3, 9, 10)
    assert other.sla_due_at == at(2026, 3, 11, 9, 30)


def test_recompute_clears_due_of_tickets_without_running_timers(desk, clock, standard, open_ticket):
    ticket = open_ticket()
    SlaTimer.objects.filter(ticket=ticket).update(state=SlaTimer.State.PAUSED)
    out = StringIO()
    call_command("sla_recompute", stdout=out)
    assert "Recomputed 0 running timers" in out.getvalue()
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None


def _mixed_desk(office: Calendar) -> tuple[list[Ticket], Ticket]:
    """Tickets with business-time, calendar-time and calendar-less timers of assorted targets
    and elapsed times (negative remainders, odd fractions, 0 and >100 % warnings), and one
    ticket whose timers are all paused but whose `sla_due_at` is stale."""
    rng = random.Random(7)
    requester = User.objects.create_user("recompute@example.test", None, display_name="R")
    night = Calendar.objects.create(
        name="Night desk",
        tz="Asia/Shanghai",
        hours={day: [["22:00", "06:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=["2026-03-12"],
    )
    start = at(2026, 3, 6, 18, 0)
    tickets = []
    for number in range(9):
        ticket = Ticket.objects.create(subject=f"T{number}", requester=requester, status="open")
        tickets.append(ticket)
        for kind in ("first_response", "resolution", "next_response")[: 1 + number % 3]:
            target = rng.choice([0, 60, 3600, 4 * 3600, 40 * 3600, 7 * 86400])
            SlaTimer.objects.create(
                ticket=ticket,
                kind=kind,
                calendar=rng.choice([office, night, None]),
                business=rng.random() < 0.6,
                target_seconds=target,
                warning_percent=rng.choice([0, 75, 100, 150]),
                started_at=start,
                running_since=start + timedelta(seconds=rng.uniform(0, 6 * 86400)),
                elapsed_seconds=rng.choice([0.0, 2.5e-6, target + 0.5, rng.uniform(0, target)]),
            )
    stale = Ticket.objects.create(subject="Paused", requester=requester, status="open")
    SlaTimer.objects.create(
        ticket=stale,
        kind="resolution",
        calendar=office,
        target_seconds=3600,
        state=SlaTimer.State.PAUSED,
        started_at=start,
        paused_at=start,
    )
    Ticket.objects.filter(pk=stale.pk).update(sla_due_at=start)
    return tickets, stale


def _check_against_reference(tickets: list[Ticket], stale: Ticket) -> None:
    cache = CalendarCache()
    for ticket in tickets:
        running = list(ticket.sla_timers.select_related("calendar"))
        for timer in running:
            due, warn = timer.due_at, timer.warn_at
            schedule(timer, cache.get(timer.calendar))
            assert (due, warn) == (timer.due_at, timer.warn_at), timer
        ticket.refresh_from_db()
        assert ticket.sla_due_at == min(timer.due_at for timer in running if timer.due_at)
    stale.refresh_from_db()
    assert stale.sla_due_at is None


@pytest.mark.parametrize("batch", [1, 3, 20_000])
def test_recompute_matches_the_per_timer_reference(office, batch):
    tickets, stale = _mixed_desk(office)
    # chunks of one timer, of a few tickets, and of everything
    assert recompute_running(batch=batch) == SlaTimer.objects.filter(state="running").count()
    _check_against_reference(tickets, stale)
    assert recompute_running(batch=batch) == 0


@pytest.mark.django_db(transaction=True)
def test_recompute_outside_a_transaction_writes_on_writer_connections(office):
    tickets, stale = _mixed_desk(office)
    assert recompute_running(batch=3) == SlaTimer.objects.filter(state="running").count()
    _check_against_reference(tickets, stale)
