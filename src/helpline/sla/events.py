"""Events of SLA/OLA timers. Every timer transition emits one; warnings and breaches carry the
people to notify (a notifications app sends them)."""

from __future__ import annotations

from datetime import datetime

from helpline.core.events import DomainEvent


class SlaTimerEvent(DomainEvent):
    ticket_id: int
    timer_id: int
    kind: str
    policy_id: int | None
    team_id: int | None
    due_at: datetime | None


class SlaTimerStarted(SlaTimerEvent):
    type = "sla.timer_started"
    description = "An SLA or OLA timer started on a ticket (paused at once in a pausing status)."
    target_seconds: int
    business: bool
    state: str


class SlaTimerPaused(SlaTimerEvent):
    type = "sla.timer_paused"
    description = "A timer stopped counting (the ticket entered a status that pauses SLA)."
    elapsed_seconds: float


class SlaTimerResumed(SlaTimerEvent):
    type = "sla.timer_resumed"
    description = "A paused timer counts again; due_at is the new deadline."
    elapsed_seconds: float


class SlaTimerMet(SlaTimerEvent):
    type = "sla.timer_met"
    description = "A timer's target was met (reply, hand-off answer or resolution)."
    elapsed_seconds: float
    breached: bool


class SlaTimerCancelled(SlaTimerEvent):
    type = "sla.timer_cancelled"
    description = "A timer stopped without being met (ticket closed, target removed, handed on)."
    reason: str


class SlaTimerRetargeted(SlaTimerEvent):
    type = "sla.timer_retargeted"
    description = "A timer's policy, target or calendar changed; due_at was recomputed."
    before_target_seconds: int
    target_seconds: int
    before_due_at: datetime | None


class SlaWarning(SlaTimerEvent):
    type = "sla.warning"
    description = "A running timer passed its warning threshold; recipients should be told."
    warn_at: datetime
    recipients: list[int]


class SlaBreached(SlaTimerEvent):
    type = "sla.breached"
    description = "A running timer passed its deadline; breach actions ran, recipients are told."
    recipients: list[int]
    actions: list[str]
