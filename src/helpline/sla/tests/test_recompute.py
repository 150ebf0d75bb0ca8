"""Bulk recompute after a calendar change."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from helpline.sla import config
from helpline.sla.models import SlaTimer
from helpline.sla.recompute import recompute_running
from helpline.sla.tests.conftest import at, timers


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
