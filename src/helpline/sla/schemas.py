"""Input and output schemas of the SLA API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from helpline.api import InSchema

MetricName = Literal["first_response", "next_response", "resolution", "handoff_response"]
PriorityName = Literal["low", "normal", "high", "urgent"]
ActionName = Literal[
    "notify_assignee", "notify_team_lead", "notify_service_manager", "raise_priority", "escalate"
]


class PolicyRef(Schema):
    id: int
    name: str


class TimerOut(Schema):
    id: int
    kind: MetricName
    state: Literal["running", "paused", "met", "cancelled"]
    status: Literal["ok", "warning", "breached"] = Field(
        description="breached: past the deadline; warning: past the warning threshold."
    )
    team_id: int | None = Field(None, description="OLA timers: the team measured.")
    policy: PolicyRef | None
    business: bool = Field(description="Counted in business time of the timer's calendar.")
    calendar_id: int | None
    target_seconds: int
    elapsed_seconds: float
    remaining_seconds: float = Field(description="Negative once the deadline has passed.")
    started_at: datetime
    paused_at: datetime | None
    warn_at: datetime | None
    due_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


class TicketSlaOut(Schema):
    ticket_id: int
    sla_due_at: datetime | None = Field(description="The earliest running deadline.")
    status: Literal["none", "ok", "warning", "breached"]
    paused: bool
    timers: list[TimerOut]


class ExceptionIn(InSchema):
    start: str = Field(description="Local date-time, YYYY-MM-DDTHH:MM.")
    end: str
    working: bool = Field(False, description="true: extra working time; false: closed.")


Hours = dict[str, list[list[str]]]


class CalendarIn(InSchema):
    name: str = Field(max_length=100)
    tz: str = Field("UTC", max_length=64)
    is_default: bool = False
    hours: Hours = Field(description='{"mon": [["09:00", "17:00"]], ...}; end <= start: overnight')
    holidays: list[str] = Field(
        default_factory=list,
        description='"YYYY-MM-DD", "YYYY-MM-DD..YYYY-MM-DD", "MM-DD" or "MM-DD..MM-DD" (yearly).',
    )
    exceptions: list[ExceptionIn] = Field(default_factory=list)
    team_ids: list[int] | None = Field(None, description="Teams that work by this calendar.")
    organization_ids: list[int] | None = None
    plan_ids: list[int] | None = None


class CalendarUpdateIn(InSchema):
    name: str | None = Field(None, max_length=100)
    tz: str | None = Field(None, max_length=64)
    is_default: bool | None = None
    hours: Hours | None = None
    holidays: list[str] | None = None
    exceptions: list[ExceptionIn] | None = None
    team_ids: list[int] | None = None
    organization_ids: list[int] | None = None
    plan_ids: list[int] | None = None


class CalendarOut(Schema):
    id: int
    name: str
    tz: str
    is_default: bool
    hours: dict[str, Any]
    holidays: list[str]
    exceptions: list[dict[str, Any]]
    team_ids: list[int]
    organization_ids: list[int]
    plan_ids: list[int]

    @staticmethod
    def resolve_team_ids(obj: Any) -> list[int]:
        return sorted(a.team_id for a in obj.assignments.all() if a.team_id)

    @staticmethod
    def resolve_organization_ids(obj: Any) -> list[int]:
        return sorted(a.organization_id for a in obj.assignments.all() if a.organization_id)

    @staticmethod
    def resolve_plan_ids(obj: Any) -> list[int]:
        return sorted(a.plan_id for a in obj.assignments.all() if a.plan_id)


class PolicyFields(InSchema):
    kind: Literal["sla", "ola"] = "sla"
    position: int = Field(0, ge=0)
    is_active: bool = True
    organization_id: int | None = None
    plan_id: int | None = None
    priorities: list[PriorityName] = Field(default_factory=list)
    category_id: int | None = None
    channel: Literal["web", "email", "chat", "phone", "api", ""] = ""
    team_id: int | None = None
    first_response_minutes: int | None = Field(None, ge=1)
    first_response_business: bool = True
    next_response_minutes: int | None = Field(None, ge=1)
    next_response_business: bool = True
    resolution_minutes: int | None = Field(None, ge=1)
    resolution_business: bool = True
    calendar_id: int | None = None
    warning_percent: int = Field(75, ge=1, le=100)
    breach_actions: list[ActionName] = Field(default_factory=list)


class PolicyIn(PolicyFields):
    name: str = Field(max_length=100)


class PolicyUpdateIn(InSchema):
    name: str | None = Field(None, max_length=100)
    kind: Literal["sla", "ola"] | None = None
    position: int | None = Field(None, ge=0)
    is_active: bool | None = None
    organization_id: int | None = None
    plan_id: int | None = None
    priorities: list[PriorityName] | None = None
    category_id: int | None = None
    channel: Literal["web", "email", "chat", "phone", "api", ""] | None = None
    team_id: int | None = None
    first_response_minutes: int | None = Field(None, ge=1)
    first_response_business: bool | None = None
    next_response_minutes: int | None = Field(None, ge=1)
    next_response_business: bool | None = None
    resolution_minutes: int | None = Field(None, ge=1)
    resolution_business: bool | None = None
    calendar_id: int | None = None
    warning_percent: int | None = Field(None, ge=1, le=100)
    breach_actions: list[ActionName] | None = None


class PolicyOut(PolicyFields):
    id: int
    name: str
