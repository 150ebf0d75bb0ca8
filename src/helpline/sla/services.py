"""Writes of the sla app: timers on tickets, warnings and breaches.

Every timer transition (start, pause, resume, meet, cancel, retarget, warning, breach) saves
the timer, writes a ticket audit entry (`sla_*` actions) and emits one event from
`helpline.sla.events`. `Ticket.sla_due_at` is kept equal to the earliest deadline of the
ticket's running timers. Every function takes `now` so that callers (receivers: the event's
time; the periodic task: the clock) and tests decide what time it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, TeamMembership, User
from helpline.core.errors import DomainError
from helpline.core.events import emit, emit_many
from helpline.sla import events
from helpline.sla.businesstime import BusinessCalendar
from helpline.sla.models import (
    BreachAction,
    Calendar,
    CalendarAssignment,
    Metric,
    SlaPolicy,
    SlaTimer,
)
from helpline.tickets.models import AuditEntry, Priority, Status, StatusConfig, Ticket

ACTIVE_STATES = (SlaTimer.State.RUNNING, SlaTimer.State.PAUSED)
SLA_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION)
NOTIFY_ACTIONS = (
    BreachAction.NOTIFY_ASSIGNEE,
    BreachAction.NOTIFY_TEAM_LEAD,
    BreachAction.NOTIFY_SERVICE_MANAGER,
)
SLA_ACTOR_EMAIL = "sla@helpline.invalid"


# --- calendars and policies --------------------------------------------------------------


class CalendarCache:
    """`BusinessCalendar` objects of the calendars used by one operation (or one batch)."""

    def __init__(self) -> None:
        self._built: dict[tuple[int, Any], BusinessCalendar] = {}

    def get(self, calendar: Calendar | None) -> BusinessCalendar | None:
        if calendar is None:
            return None
        key = (calendar.pk, calendar.updated_at)
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = calendar.business_calendar()
        return built


def pausing_statuses() -> frozenset[str]:
    return frozenset(StatusConfig.objects.filter(pauses_sla=True).values_list("status", flat=True))


def _plan_id(ticket: Ticket) -> int | None:
    return ticket.organization.plan_id if ticket.organization is not None else None


def policy_matches(
    policy: SlaPolicy, ticket: Ticket, *, plan_id: int | None, team_id: int | None
) -> bool:
    """True if every condition set on the policy holds for the ticket."""
    if policy.organization_id is not None and policy.organization_id != ticket.organization_id:
        return False
    if policy.plan_id is not None and policy.plan_id != plan_id:
        return False
    if policy.priorities and Priority(ticket.priority).key not in policy.priorities:
        return False
    if policy.category_id is not None and policy.category_id != ticket.category_id:
        return False
    if policy.channel and policy.channel != ticket.channel:
        return False
    return policy.team_id is None or policy.team_id == team_id


def resolve_policy(
    ticket: Ticket,
    *,
    kind: str = SlaPolicy.Kind.SLA,
    team_id: int | None = None,
    policies: Iterable[SlaPolicy] | None = None,
) -> SlaPolicy | None:
    """The first active policy (by position) whose conditions the ticket meets. For OLA,
    `team_id` is the receiving team; for SLA it defaults to the ticket's team."""
    if policies is None:
        policies = SlaPolicy.objects.filter(is_active=True, kind=kind).order_by("position", "id")
    plan_id = _plan_id(ticket)
    team = team_id if team_id is not None else ticket.team_id
    for policy in policies:
        if policy.kind == kind and policy_matches(policy, ticket, plan_id=plan_id, team_id=team):
            return policy
    return None


def resolve_calendar(
    ticket: Ticket, policy: SlaPolicy | None, *, team_id: int | None = None
) -> Calendar | None:
    """The calendar a timer runs by: the policy's own, else (SLA) the organization's, the
    plan's, the team's; (OLA, `team_id` given) the receiving team's first; else the default.
    None (no calendar at all) means business time equals calendar time."""
    if policy is not None and policy.calendar_id is not None:
        return policy.calendar
    plan_id = _plan_id(ticket)
    team = team_id if team_id is not None else ticket.team_id
    condition = Q(pk__in=[])
    if ticket.organization_id:
        condition |= Q(organization_id=ticket.organization_id)
    if plan_id:
        condition |= Q(plan_id=plan_id)
    if team:
        condition |= Q(team_id=team)
    found = {
        ("org" if a.organization_id else "plan" if a.plan_id else "team"): a.calendar
        for a in CalendarAssignment.objects.filter(condition).select_related("calendar")
    }
    order = ("team", "org", "plan") if team_id is not None else ("org", "plan", "team")
    for key in order:
        if key in found:
            return found[key]
    return Calendar.objects.filter(is_default=True).first()


# --- timer arithmetic (pure: no queries) -------------------------------------------------


def _measure(
    timer: SlaTimer, calendar: BusinessCalendar | None, start: datetime, end: datetime
) -> float:
    if end <= start:
        return 0.0
    if timer.business and calendar is not None:
        return calendar.between(start, end).total_seconds()
    return (end - start).total_seconds()


def _add(
    timer: SlaTimer, calendar: BusinessCalendar | None, start: datetime, seconds: float
) -> datetime:
    amount = timedelta(seconds=max(seconds, 0.0))
    if timer.business and calendar is not None:
        return calendar.add(start, amount)
    return start + amount


def schedule(timer: SlaTimer, calendar: BusinessCalendar | None) -> None:
    """Set `due_at`/`warn_at` from target, elapsed time and `running_since` (None unless
    running)."""
    if timer.state != SlaTimer.State.RUNNING or timer.running_since is None:
        timer.due_at = timer.warn_at = None
        return
    remaining = timer.target_seconds - timer.elapsed_seconds
    timer.due_at = _add(timer, calendar, timer.running_since, remaining)
    warn_after = timer.target_seconds * timer.warning_percent / 100
    timer.warn_at = _add(timer, calendar, timer.running_since, warn_after - timer.elapsed_seconds)


def elapsed_now(timer: SlaTimer, calendar: BusinessCalendar | None, now: datetime) -> float:
    """Counted seconds so far, including the running stretch."""
    if timer.state == SlaTimer.State.RUNNING and timer.running_since is not None:
        return timer.elapsed_seconds + _measure(timer, calendar, timer.running_since, now)
    return timer.elapsed_seconds


def _fold(timer: SlaTimer, calendar: BusinessCalendar | None, now: datetime) -> None:
    """Move the running stretch into `elapsed_seconds` (before pausing or changing targets)."""
    if timer.state == SlaTimer.State.RUNNING and timer.running_since is not None:
        timer.elapsed_seconds += _measure(timer, calendar, timer.running_since, now)
        timer.running_since = now


# --- recording ---------------------------------------------------------------------------


def _base(timer: SlaTimer) -> dict[str, Any]:
    return {
        "ticket_id": timer.ticket_id,
        "timer_id": timer.pk,
        "kind": timer.kind,
        "policy_id": timer.policy_id,
        "team_id": timer.team_id,
        "due_at": timer.due_at,
    }


def _record(
    timer: SlaTimer,
    event: events.SlaTimerEvent,
    action: str,
    *,
    actor: User | None = None,
    before: Any = None,
    after: Any = None,
    note: str = "",
) -> None:
    record = emit(event, actor=actor, aggregate=("ticket", timer.ticket_id))
    AuditEntry.objects.create(
        ticket_id=timer.ticket_id,
        actor=actor,
        action=action,
        field=f"sla.{timer.kind}",
        before=before,
        after=after,
        note=note,
        event_id=record.uuid,
    )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def refresh_ticket_due(ticket_ids: Iterable[int]) -> None:
    """`Ticket.sla_due_at` := the earliest deadline of the ticket's running timers."""
    earliest = (
        SlaTimer.objects.filter(ticket=OuterRef("pk"), state=SlaTimer.State.RUNNING)
        .values("ticket")
        .annotate(due=Min("due_at"))
        .values("due")
    )
    Ticket.objects.filter(pk__in=list(ticket_ids)).update(sla_due_at=Subquery(earliest))


# --- transitions -------------------------------------------------------------------------


def timer_start(
    *,
    ticket: Ticket,
    kind: str,
    policy: SlaPolicy,
    calendar: Calendar | None,
    cache: CalendarCache,
    now: datetime,
    paused: bool,
    team_id: int | None = None,
) -> SlaTimer | None:
    """Start a timer of `kind` under `policy` (saved, evented); None without a target."""
    timer = _new_timer(
        ticket=ticket,
        kind=kind,
        policy=policy,
        calendar=calendar,
        cache=cache,
        now=now,
        paused=paused,
        team_id=team_id,
    )
    if timer is not None:
        _save_started([timer])
    return timer


def _new_timer(
    *,
    ticket: Ticket,
    kind: str,
    policy: SlaPolicy,
    calendar: Calendar | None,
    cache: CalendarCache,
    now: datetime,
    paused: bool,
    team_id: int | None = None,
) -> SlaTimer | None:
    """The timer `timer_start` starts, scheduled, not saved; None without a target."""
    minutes, business = policy.target(kind)
    if minutes is None:
        return None
    timer = SlaTimer(
        ticket=ticket,
        kind=kind,
        policy=policy,
        calendar=calendar,
        team_id=team_id,
        business=business,
        target_seconds=minutes * 60,
        warning_percent=policy.warning_percent,
        state=SlaTimer.State.PAUSED if paused else SlaTimer.State.RUNNING,
        started_at=now,
        running_since=None if paused else now,
        paused_at=now if paused else None,
    )
    schedule(timer, cache.get(calendar))
    return timer


def _new_sla_timer(
    ticket: Ticket,
    kind: str,
    *,
    policy: SlaPolicy | None,
    calendar: Calendar | None,
    cache: CalendarCache,
    now: datetime,
    paused: bool,
) -> SlaTimer | None:
    """The SLA timer of `kind` a ticket without one (running, paused or met) starts under
    its policy: resolution always, first response until the first response was given (a
    next response starts with a customer's message, `on_message`). None when none starts
    (no policy, no target for the kind). Scheduled, not saved."""
    if policy is None:
        return None
    if kind != Metric.RESOLUTION and (
        kind != Metric.FIRST_RESPONSE or ticket.first_response_at is not None
    ):
        return None
    return _new_timer(
        ticket=ticket,
        kind=kind,
        policy=policy,
        calendar=calendar,
        cache=cache,
        now=now,
        paused=paused,
    )


def _save_started(timers: Sequence[SlaTimer]) -> None:
    """Save new timers (one INSERT), each with its `SlaTimerStarted` event and `sla_started`
    audit entry (by the system), in order."""
    if not timers:
        return
    SlaTimer.objects.bulk_create(timers)
    records = emit_many(
        [
            (
                events.SlaTimerStarted(
                    **_base(timer),
                    target_seconds=timer.target_seconds,
                    business=timer.business,
                    state=timer.state,
                ),
                ("ticket", timer.ticket_id),
            )
            for timer in timers
        ],
        actor=None,
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            ticket_id=timer.ticket_id,
            actor=None,
            action="sla_started",
            field=f"sla.{timer.kind}",
            before=None,
            after={"target_seconds": timer.target_seconds, "due_at": _iso(timer.due_at)},
            note=timer.policy.name if timer.policy is not None else "",
            event_id=record.uuid,
        )
        for timer, record in zip(timers, records, strict=True)
    )


def timer_pause(*, timer: SlaTimer, cache: CalendarCache, now: datetime) -> None:
    _fold(timer, cache.get(timer.calendar), now)
    timer.state = SlaTimer.State.PAUSED
    timer.running_since = None
    timer.paused_at = now
    before = timer.due_at
    schedule(timer, None)
    timer.save(
        update_fields=[
            "state", "running_since", "paused_at", "elapsed_seconds", "due_at", "warn_at",
            "updated_at",
        ]
    )  # fmt: skip
    _record(
        timer,
        events.SlaTimerPaused(**_base(timer), elapsed_seconds=timer.elapsed_seconds),
        "sla_paused",
        before={"due_at": _iso(before)},
        after={"elapsed_seconds": round(timer.elapsed_seconds)},
    )


def timer_resume(*, timer: SlaTimer, cache: CalendarCache, now: datetime) -> None:
    timer.state = SlaTimer.State.RUNNING
    timer.running_since = now
    timer.paused_at = None
    timer.met_at = None
    schedule(timer, cache.get(timer.calendar))
    timer.save(
        update_fields=[
            "state", "running_since", "paused_at", "met_at", "due_at", "warn_at", "updated_at",
        ]
    )  # fmt: skip
    _record(
        timer,
        events.SlaTimerResumed(**_base(timer), elapsed_seconds=timer.elapsed_seconds),
        "sla_resumed",
        after={"due_at": _iso(timer.due_at)},
    )


def timer_meet(*, timer: SlaTimer, cache: CalendarCache, now: datetime) -> None:
    _fold(timer, cache.get(timer.calendar), now)
    timer.state = SlaTimer.State.MET
    timer.running_since = None
    timer.paused_at = None
    timer.met_at = now
    schedule(timer, None)
    timer.save(
        update_fields=[
            "state", "running_since", "paused_at", "met_at", "elapsed_seconds", "due_at",
            "warn_at", "updated_at",
        ]
    )  # fmt: skip
    _record(
        timer,
        events.SlaTimerMet(
            **_base(timer),
            elapsed_seconds=timer.elapsed_seconds,
            breached=timer.breached_at is not None,
        ),
        "sla_met",
        after={"elapsed_seconds": round(timer.elapsed_seconds)},
        note=_("late") if timer.breached_at is not None else _("in time"),
    )


def timer_cancel(*, timer: SlaTimer, cache: CalendarCache, now: datetime, reason: str) -> None:
    _fold(timer, cache.get(timer.calendar), now)
    timer.state = SlaTimer.State.CANCELLED
    timer.running_since = None
    schedule(timer, None)
    timer.save(
        update_fields=[
            "state", "running_since", "elapsed_seconds", "due_at", "warn_at", "updated_at",
        ]
    )  # fmt: skip
    _record(
        timer,
        events.SlaTimerCancelled(**_base(timer), reason=reason),
        "sla_cancelled",
        note=reason,
    )


def timer_retarget(
    *,
    timer: SlaTimer,
    policy: SlaPolicy,
    calendar: Calendar | None,
    cache: CalendarCache,
    now: datetime,
) -> None:
    """Apply a new policy/target/calendar mid-flight: time counted so far is kept."""
    minutes, business = policy.target(timer.kind)
    assert minutes is not None
    _fold(timer, cache.get(timer.calendar), now)
    before_target, before_due = timer.target_seconds, timer.due_at
    timer.policy = policy
    timer.calendar = calendar
    timer.business = business
    timer.target_seconds = minutes * 60
    timer.warning_percent = policy.warning_percent
    schedule(timer, cache.get(calendar))
    timer.save(
        update_fields=[
            "policy", "calendar", "business", "target_seconds", "warning_percent",
            "elapsed_seconds", "running_since", "due_at", "warn_at", "updated_at",
        ]
    )  # fmt: skip
    _record(
        timer,
        events.SlaTimerRetargeted(
            **_base(timer),
            before_target_seconds=before_target,
            target_seconds=timer.target_seconds,
            before_due_at=before_due,
        ),
        "sla_retargeted",
        before={"target_seconds": before_target, "due_at": _iso(before_due)},
        after={"target_seconds": timer.target_seconds, "due_at": _iso(timer.due_at)},
        note=policy.name,
    )


def _needs_retarget(timer: SlaTimer, policy: SlaPolicy, calendar: Calendar | None) -> bool:
    minutes, business = policy.target(timer.kind)
    return (
        timer.policy_id != policy.pk
        or timer.target_seconds != (minutes or 0) * 60
        or timer.business != business
        or timer.calendar_id != (calendar.pk if calendar else None)
        or timer.warning_percent != policy.warning_percent
    )


# --- ticket-level reconciliation ---------------------------------------------------------


def _lock(ticket_id: int) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=ticket_id)
    )


def _sync(ticket: Ticket, now: datetime, cache: CalendarCache) -> None:
    """Bring the ticket's timers in line with its policy, calendar and status."""
    timers = list(ticket.sla_timers.filter(state__in=ACTIVE_STATES).select_related("calendar"))
    if ticket.status in (Status.SOLVED, Status.CLOSED):
        for timer in timers:
            if timer.kind == Metric.RESOLUTION and ticket.status == Status.SOLVED:
                timer_meet(timer=timer, cache=cache, now=now)
            else:
                timer_cancel(timer=timer, cache=cache, now=now, reason=ticket.status)
        refresh_ticket_due([ticket.pk])
        return
    paused = ticket.status in pausing_statuses()
    policy = resolve_policy(ticket)
    calendar = resolve_calendar(ticket, policy)
    by_kind = {timer.kind: timer for timer in timers}
    done = set(ticket.sla_timers.filter(state=SlaTimer.State.MET).values_list("kind", flat=True))
    for kind in SLA_METRICS:
        existing = by_kind.get(kind)
        minutes = policy.target(kind)[0] if policy is not None else None
        if existing is not None:
            if policy is None or minutes is None:
                timer_cancel(timer=existing, cache=cache, now=now, reason="no_target")
                timers.remove(existing)
            elif _needs_retarget(existing, policy, calendar):
                timer_retarget(
                    timer=existing, policy=policy, calendar=calendar, cache=cache, now=now
                )
        elif kind not in done:
            started = _new_sla_timer(
                ticket,
                kind,
                policy=policy,
                calendar=calendar,
                cache=cache,
                now=now,
                paused=paused,
            )
            if started is not None:
                _save_started([started])
    for timer in timers:
        if timer.kind == Metric.HANDOFF_RESPONSE:
            ola = resolve_policy(ticket, kind=SlaPolicy.Kind.OLA, team_id=timer.team_id)
            if ola is None or ola.target(timer.kind)[0] is None:
                timer_cancel(timer=timer, cache=cache, now=now, reason="no_target")
                continue
            ola_calendar = resolve_calendar(ticket, ola, team_id=timer.team_id)
            if _needs_retarget(timer, ola, ola_calendar):
                timer_retarget(timer=timer, policy=ola, calendar=ola_calendar, cache=cache, now=now)
        if paused and timer.state == SlaTimer.State.RUNNING:
            timer_pause(timer=timer, cache=cache, now=now)
        elif not paused and timer.state == SlaTimer.State.PAUSED:
            timer_resume(timer=timer, cache=cache, now=now)
    refresh_ticket_due([ticket.pk])


def sync_ticket(*, ticket_id: int, now: datetime | None = None) -> None:
    """Reconcile a ticket's timers (creation, field changes, status changes)."""
    now = now or timezone.now()
    with transaction.atomic():
        _sync(_lock(ticket_id), now, CalendarCache())


def start_new_tickets(*, starts: Sequence[tuple[int, datetime]]) -> None:
    """`sync_ticket` for a batch of (ticket id, now) of new tickets (`ticket.created`), with
    the same timers, audit entries and events, but the reads done once per batch (policies,
    pausing statuses, calendars per organization, plan and team) and the timers, their
    audit entries and events written with one INSERT each, then one `sla_due_at` refresh.
    A ticket that already has timers (a replay) or is done takes `sync_ticket`'s path."""
    now_of = dict(starts)
    if not now_of:
        return
    cache = CalendarCache()
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk__in=list(now_of))
            .order_by("pk")
        )
        with_timers = set(
            SlaTimer.objects.filter(ticket_id__in=list(now_of)).values_list("ticket_id", flat=True)
        )
        pausing = pausing_statuses()
        policies = list(
            SlaPolicy.objects.filter(is_active=True, kind=SlaPolicy.Kind.SLA)
            .select_related("calendar")
            .order_by("position", "id")
        )
        calendars: dict[tuple[Any, ...], Calendar | None] = {}
        fresh: list[int] = []
        started: list[SlaTimer] = []
        for ticket in tickets:
            now = now_of[ticket.pk]
            if ticket.pk in with_timers or ticket.status in (Status.SOLVED, Status.CLOSED):
                _sync(ticket, now, cache)
                continue
            fresh.append(ticket.pk)
            policy = resolve_policy(ticket, policies=policies)
            if policy is None:
                continue
            key = (policy.pk, ticket.organization_id, _plan_id(ticket), ticket.team_id)
            if key not in calendars:
                calendars[key] = resolve_calendar(ticket, policy)
            for kind in SLA_METRICS:
                timer = _new_sla_timer(
                    ticket,
                    kind,
                    policy=policy,
                    calendar=calendars[key],
                    cache=cache,
                    now=now,
                    paused=ticket.status in pausing,
                )
                if timer is not None:
                    started.append(timer)
        _save_started(started)
        refresh_ticket_due(fresh)


def on_status_changed(
    *, ticket_id: int, before: str, after: str, now: datetime | None = None
) -> None:
    """Pause/resume/meet by status; reopening a solved ticket resumes its resolution clock."""
    now = now or timezone.now()
    cache = CalendarCache()
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if before == Status.SOLVED and ticket.status not in (Status.SOLVED, Status.CLOSED):
            reopened = (
                ticket.sla_timers.filter(kind=Metric.RESOLUTION, state=SlaTimer.State.MET)
                .select_related("calendar")
                .order_by("-met_at")
                .first()
            )
            if reopened is not None:
                timer_resume(timer=reopened, cache=cache, now=now)
        _sync(ticket, now, cache)


def on_message(
    *,
    ticket_id: int,
    author_id: int,
    public: bool,
    by_customer: bool,
    now: datetime | None = None,
) -> None:
    """A customer message starts a next-response clock (after the first response); an agent
    reply meets the response clocks; a message from the receiving team meets its OLA clock."""
    now = now or timezone.now()
    cache = CalendarCache()
    with transaction.atomic():
        ticket = _lock(ticket_id)
        active = list(ticket.sla_timers.filter(state__in=ACTIVE_STATES).select_related("calendar"))
        if not by_customer:
            teams = set(
                TeamMembership.objects.filter(user_id=author_id).values_list("team_id", flat=True)
            )
            for timer in active:
                answers_handoff = timer.kind == Metric.HANDOFF_RESPONSE and timer.team_id in teams
                answers_customer = public and timer.kind in (
                    Metric.FIRST_RESPONSE,
                    Metric.NEXT_RESPONSE,
                )
                if answers_handoff or answers_customer:
                    timer_meet(timer=timer, cache=cache, now=now)
        elif public and ticket.first_response_at is not None:
            waiting = any(timer.kind == Metric.NEXT_RESPONSE for timer in active)
            policy = resolve_policy(ticket)
            if not waiting and policy is not None:
                timer_start(
                    ticket=ticket,
                    kind=Metric.NEXT_RESPONSE,
                    policy=policy,
                    calendar=resolve_calendar(ticket, policy),
                    cache=cache,
                    now=now,
                    paused=ticket.status in pausing_statuses(),
                )
        _sync(ticket, now, cache)


def on_transferred(
    *, ticket_id: int, before_team_id: int | None, team_id: int, now: datetime | None = None
) -> None:
    """A hand-off: the previous team's OLA clock stops, the receiving team's starts."""
    now = now or timezone.now()
    cache = CalendarCache()
    with transaction.atomic():
        ticket = _lock(ticket_id)
        handoffs = ticket.sla_timers.filter(
            kind=Metric.HANDOFF_RESPONSE, state__in=ACTIVE_STATES
        ).select_related("calendar")
        for timer in handoffs:
            if timer.team_id != team_id:
                timer_cancel(timer=timer, cache=cache, now=now, reason="handed_on")
        active = ticket.status not in (Status.SOLVED, Status.CLOSED)
        ola = resolve_policy(ticket, kind=SlaPolicy.Kind.OLA, team_id=team_id)
        if before_team_id is not None and active and ola is not None:
            timer_start(
                ticket=ticket,
                kind=Metric.HANDOFF_RESPONSE,
                policy=ola,
                calendar=resolve_calendar(ticket, ola, team_id=team_id),
                cache=cache,
                now=now,
                paused=ticket.status in pausing_statuses(),
                team_id=team_id,
            )
        _sync(ticket, now, cache)


# --- warnings and breaches (run by the periodic task) ------------------------------------


def sla_actor() -> User:
    """The agent account SLA breach actions act as (so the audit trail names who did it)."""
    user, _created = User.objects.get_or_create(
        email=SLA_ACTOR_EMAIL,
        defaults={"username": SLA_ACTOR_EMAIL, "role": Role.AGENT, "display_name": "SLA"},
    )
    if _created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _recipients(timer: SlaTimer, actions: Iterable[str]) -> list[int]:
    """Who to tell: the notify_* actions of the policy; by default the assignee, or the
    leads of the team when nobody is assigned."""
    ticket = timer.ticket
    team_id = timer.team_id or ticket.team_id
    chosen = [action for action in actions if action in NOTIFY_ACTIONS]
    if not chosen:
        chosen = [
            BreachAction.NOTIFY_ASSIGNEE if ticket.assignee_id else BreachAction.NOTIFY_TEAM_LEAD
        ]
    people: list[int] = []
    if BreachAction.NOTIFY_ASSIGNEE in chosen and ticket.assignee_id:
        people.append(ticket.assignee_id)
    if BreachAction.NOTIFY_TEAM_LEAD in chosen and team_id:
        people.extend(
            TeamMembership.objects.filter(team_id=team_id, is_lead=True)
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )
    if BreachAction.NOTIFY_SERVICE_MANAGER in chosen and ticket.organization is not None:
        manager = ticket.organization.service_manager_id
        if manager:
            people.append(manager)
    return list(dict.fromkeys(people))


# (the mark set when it fires, the time it comes due) of a warning and of a breach
_WARNING = ("warned_at", "warn_at")
_BREACH = ("breached_at", "due_at")


def _due(alert: tuple[str, str], now: datetime) -> Q:
    """Running timers whose warning or breach (`alert`) came due by `now`, not fired yet (as
    the partial indexes `sla_timer_warn_pending` and `sla_timer_due_pending` hold them)."""
    mark, at = alert
    return Q(state=SlaTimer.State.RUNNING, **{f"{mark}__isnull": True, f"{at}__lte": now})


def _claim(timer_id: int, alert: tuple[str, str], now: datetime) -> SlaTimer | None:
    """The timer, if its warning or breach is due and this call marks it fired. Exactly
    once: the conditional update is the guard, so concurrent or repeated runs get None."""
    if not SlaTimer.objects.filter(_due(alert, now), pk=timer_id).update(**{alert[0]: now}):
        return None
    return SlaTimer.objects.select_related("ticket__organization", "policy").get(pk=timer_id)


def timer_warn(*, timer_id: int, now: datetime) -> bool:
    """Fire the warning of a timer whose `warn_at` has passed, exactly once (`_claim`)."""
    with transaction.atomic():
        timer = _claim(timer_id, _WARNING, now)
        if timer is None:
            return False
        actions = timer.policy.breach_actions if timer.policy else []
        recipients = _recipients(timer, actions)
        assert timer.warn_at is not None
        _record(
            timer,
            events.SlaWarning(**_base(timer), warn_at=timer.warn_at, recipients=recipients),
            "sla_warning",
            after={"due_at": _iso(timer.due_at), "recipients": recipients},
        )
    return True


def timer_breach(*, timer_id: int, now: datetime) -> bool:
    """Fire the breach of a timer whose `due_at` has passed and run the policy's breach
    actions, exactly once (`_claim`)."""
    from helpline.tickets import services as tickets

    with transaction.atomic():
        timer = _claim(timer_id, _BREACH, now)
        if timer is None:
            return False
        actions = list(timer.policy.breach_actions if timer.policy else [])
        recipients = _recipients(timer, actions)
        _record(
            timer,
            events.SlaBreached(**_base(timer), recipients=recipients, actions=actions),
            "sla_breached",
            after={"due_at": _iso(timer.due_at), "recipients": recipients, "actions": actions},
        )
        ticket = timer.ticket
        label = Metric(timer.kind).label
        for action in actions:
            try:
                if action == BreachAction.RAISE_PRIORITY and ticket.priority < Priority.URGENT:
                    tickets.ticket_update(
                        actor=sla_actor(), ticket=ticket, priority=ticket.priority + 1
                    )
                elif action == BreachAction.ESCALATE:
                    tickets.ticket_escalate(
                        actor=sla_actor(),
                        ticket=ticket,
                        note=_("SLA breached: %(target)s target missed.") % {"target": label},
                    )
            except DomainError as exc:
                AuditEntry.objects.create(
                    ticket=ticket,
                    actor=sla_actor(),
                    action="sla_action_skipped",
                    field=f"sla.{timer.kind}",
                    note=f"{action}: {exc.message}",
                )
            ticket.refresh_from_db()
    return True


def process_due(*, now: datetime | None = None, batch: int = 500) -> tuple[int, int]:
    """Fire every warning and breach that came due by `now` (catching up after downtime).
    Returns (warnings, breaches) fired."""
    now = now or timezone.now()
    return (
        _fire_due(_WARNING, timer_warn, now=now, batch=batch),
        _fire_due(_BREACH, timer_breach, now=now, batch=batch),
    )


def _fire_due(
    alert: tuple[str, str], fire: Callable[..., bool], *, now: datetime, batch: int
) -> int:
    """Fire the due warnings or breaches (`alert`) earliest first, `batch` ids at a time;
    how many fired."""
    fired = 0
    while True:
        ids = list(
            SlaTimer.objects.filter(_due(alert, now))
            .order_by(alert[1], "pk")
            .values_list("pk", flat=True)[:batch]
        )
        fired += sum(fire(timer_id=pk, now=now) for pk in ids)
        if len(ids) < batch:
            return fired
