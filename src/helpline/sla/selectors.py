"""Reads of the sla app: a ticket's SLA state (agents only), and the SLA configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from helpline.accounts.models import User
from helpline.core.errors import NotFound
from helpline.sla.models import Calendar, SlaPolicy, SlaTimer
from helpline.sla.services import CalendarCache, elapsed_now
from helpline.tickets.models import Ticket


def timer_status(timer: SlaTimer, now: datetime) -> str:
    """ok, warning (past the warning threshold) or breached (past the deadline)."""
    if timer.breached_at is not None or (
        timer.state == SlaTimer.State.RUNNING and timer.due_at is not None and timer.due_at <= now
    ):
        return "breached"
    if timer.warned_at is not None or (
        timer.state == SlaTimer.State.RUNNING and timer.warn_at is not None and timer.warn_at <= now
    ):
        return "warning"
    return "ok"


@dataclass
class TimerView:
    timer: SlaTimer
    status: str
    elapsed_seconds: float
    remaining_seconds: float

    def __getattr__(self, name: str) -> Any:
        return getattr(self.timer, name)


def ticket_sla(*, actor: User, ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """The SLA state of a ticket the actor has accessed. Customers get the same 404 as for
    a missing ticket: deadlines and targets are internal."""
    if not actor.is_staff_member:
        raise NotFound("Ticket not found.")
    now = now or timezone.now()
    cache = CalendarCache()
    rows = []
    timers = ticket.sla_timers.select_related("calendar", "policy").order_by("started_at", "pk")
    for timer in timers:
        elapsed = elapsed_now(timer, cache.get(timer.calendar), now)
        rows.append(
            TimerView(
                timer=timer,
                status=timer_status(timer, now),
                elapsed_seconds=round(elapsed, 3),
                remaining_seconds=round(timer.target_seconds - elapsed, 3),
            )
        )
    running = [row for row in rows if row.state == SlaTimer.State.RUNNING]
    worst = "none"
    for row in rows:
        if row.state in (SlaTimer.State.RUNNING, SlaTimer.State.PAUSED):
            worst = max(worst, row.status, key=("none", "ok", "warning", "breached").index)
    return {
        "ticket_id": ticket.pk,
        "sla_due_at": ticket.sla_due_at,
        "status": worst,
        "paused": bool(rows) and not running and any(r.state == "paused" for r in rows),
        "timers": rows,
    }


def calendar_list() -> QuerySet[Calendar]:
    return Calendar.objects.prefetch_related("assignments").order_by("name")


def access_calendar(calendar_id: int) -> Calendar:
    calendar = calendar_list().filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound("Calendar not found.")
    return calendar


def policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.order_by("kind", "position", "id")


def access_policy(policy_id: int) -> SlaPolicy:
    policy = policy_list().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound("Policy not found.")
    return policy
