"""/api/v1/tickets/{id}/sla and /api/v1/sla/{calendars,policies}.

A ticket's SLA state needs `tickets:read` and is for agents (customers get 404, as for a
ticket they cannot see). The configuration needs `sla:read` (agents) / `sla:write` (admins).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from helpline.accounts.models import Organization, SupportPlan, Team, User
from helpline.api import require_scope
from helpline.core.errors import ValidationError
from helpline.sla import config, selectors
from helpline.sla.models import Calendar
from helpline.sla.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarUpdateIn,
    PolicyIn,
    PolicyOut,
    PolicyUpdateIn,
    TicketSlaOut,
)
from helpline.tickets.access import access_ticket, require_staff
from helpline.tickets.models import Category

ticket_sla = Router(tags=["sla"])
router = Router(tags=["sla"])

READ = "sla:read"
WRITE = "sla:write"


@ticket_sla.get("/{int:ticket_id}/sla", response=TicketSlaOut)
def get_ticket_sla(request: HttpRequest, ticket_id: int) -> Any:
    """The ticket's SLA/OLA timers: targets, deadlines, time left, warning/breach state."""
    actor = require_scope(request, "tickets:read")
    return selectors.ticket_sla(actor=actor, ticket=access_ticket(actor, ticket_id))


# --- references ---------------------------------------------------------------------------


def _refs(model: Any, ids: list[int] | None, field: str) -> list[Any] | None:
    if ids is None:
        return None
    found = list(model.objects.filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise ValidationError(_("Unknown reference."), fields={field: "not_found"})
    return found


def _ref(model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError(_("Unknown reference."), fields={field: "not_found"})
    return found


POLICY_REFS = {
    "organization_id": ("organization", Organization),
    "plan_id": ("plan", SupportPlan),
    "category_id": ("category", Category),
    "team_id": ("team", Team),
    "calendar_id": ("calendar", Calendar),
}


def _policy_values(values: dict[str, Any]) -> dict[str, Any]:
    for key, (name, model) in POLICY_REFS.items():
        if key in values:
            values[name] = _ref(model, values.pop(key), key)
    return values


def _assignments(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "teams": _refs(Team, values.pop("team_ids", None), "team_ids"),
        "organizations": _refs(
            Organization, values.pop("organization_ids", None), "organization_ids"
        ),
        "plans": _refs(SupportPlan, values.pop("plan_ids", None), "plan_ids"),
    }


def _reader(request: HttpRequest) -> User:
    actor = require_scope(request, READ)
    require_staff(actor)
    return actor


# --- calendars ----------------------------------------------------------------------------


@router.get("/calendars", response=list[CalendarOut])
def list_calendars(request: HttpRequest) -> Any:
    _reader(request)
    return selectors.calendar_list()


@router.post("/calendars", response={201: CalendarOut})
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Any:
    actor = require_scope(request, WRITE)
    values = payload.model_dump()
    calendar = config.calendar_create(actor=actor, **_assignments(values), **values)
    return Status(201, selectors.access_calendar(calendar.pk))


@router.get("/calendars/{int:calendar_id}", response=CalendarOut)
def get_calendar(request: HttpRequest, calendar_id: int) -> Any:
    _reader(request)
    return selectors.access_calendar(calendar_id)


@router.patch("/calendars/{int:calendar_id}", response=CalendarOut)
def update_calendar(request: HttpRequest, calendar_id: int, payload: CalendarUpdateIn) -> Any:
    actor = require_scope(request, WRITE)
    calendar = selectors.access_calendar(calendar_id)
    values = payload.changes(nullable={"team_ids", "organization_ids", "plan_ids"})
    config.calendar_update(actor=actor, calendar=calendar, **_assignments(values), **values)
    return selectors.access_calendar(calendar_id)


@router.delete("/calendars/{int:calendar_id}", response={204: None})
def delete_calendar(request: HttpRequest, calendar_id: int) -> Any:
    actor = require_scope(request, WRITE)
    config.calendar_delete(actor=actor, calendar=selectors.access_calendar(calendar_id))
    return Status(204, None)


# --- policies -----------------------------------------------------------------------------


@router.get("/policies", response=list[PolicyOut])
def list_policies(request: HttpRequest) -> Any:
    """SLA and OLA policies in the order they are tried."""
    _reader(request)
    return selectors.policy_list()


@router.post("/policies", response={201: PolicyOut})
def create_policy(request: HttpRequest, payload: PolicyIn) -> Any:
    actor = require_scope(request, WRITE)
    policy = config.policy_create(actor=actor, **_policy_values(payload.model_dump()))
    return Status(201, policy)


@router.get("/policies/{int:policy_id}", response=PolicyOut)
def get_policy(request: HttpRequest, policy_id: int) -> Any:
    _reader(request)
    return selectors.access_policy(policy_id)


@router.patch("/policies/{int:policy_id}", response=PolicyOut)
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyUpdateIn) -> Any:
    actor = require_scope(request, WRITE)
    policy = selectors.access_policy(policy_id)
    nullable = {*POLICY_REFS, "first_response_minutes", "next_response_minutes"}
    changes = payload.changes(nullable={*nullable, "resolution_minutes"})
    return config.policy_update(actor=actor, policy=policy, **_policy_values(changes))


@router.delete("/policies/{int:policy_id}", response={204: None})
def delete_policy(request: HttpRequest, policy_id: int) -> Any:
    actor = require_scope(request, WRITE)
    config.policy_delete(actor=actor, policy=selectors.access_policy(policy_id))
    return Status(204, None)
