"""Fixtures of the SLA tests: a controllable clock and a Berlin office desk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpline.core.testing import Desk
from helpline.sla import config
from helpline.sla.models import Calendar, SlaPolicy

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class Clock:
    """What `django.utils.timezone.now()` returns while the test runs (auto_now fields,
    event times and the SLA task all read it)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def set(self, *parts: int) -> datetime:
        self.current = datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc,arg-type]
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    from django.utils import timezone

    fake = Clock(datetime(2026, 3, 9, 9, 0, tzinfo=BERLIN))  # Monday 09:00
    monkeypatch.setattr(timezone, "now", fake)
    yield fake


@pytest.fixture
def office(desk: Desk) -> Calendar:
    return config.calendar_create(
        actor=desk.admin, name="Berlin office", tz="Europe/Berlin", hours=OFFICE_HOURS,
        is_default=True,
    )  # fmt: skip


@pytest.fixture
def standard(desk: Desk, office: Calendar) -> SlaPolicy:
    return config.policy_create(
        actor=desk.admin,
        name="Standard",
        position=100,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
        warning_percent=75,
        breach_actions=["notify_assignee", "notify_team_lead"],
    )


@pytest.fixture
def act(django_capture_on_commit_callbacks: Any) -> Any:
    """Run one operation as its own committed request: its events are dispatched (and the
    events those receivers emit, in turn) before `act` returns."""

    def run(func: Any, /, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return func(**kwargs)

    return run


@pytest.fixture
def open_ticket(desk: Desk, act: Any) -> Any:
    def run(customer: Any = None, **kwargs: Any) -> Any:
        from helpline.tickets import services as tickets

        return act(
            tickets.ticket_create,
            actor=customer or desk.alice,
            subject="VPN down",
            body="It stopped working.",
            **kwargs,
        )

    return run


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc,arg-type]


def timers(ticket: Any) -> dict[str, Any]:
    return {timer.kind: timer for timer in ticket.sla_timers.order_by("pk")}
