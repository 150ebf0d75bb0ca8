"""Admin writes of SLA configuration: calendars (with their assignments) and policies.

Only administrators change them. A definition is validated in full before it is stored
(calendars by building the `BusinessCalendar`), so timers never meet an unusable calendar.
Changes take effect for running timers at each ticket's next event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpline.accounts.models import Organization, Role, SupportPlan, Team, User
from helpline.core.errors import Conflict, PermissionDenied, ValidationError
from helpline.sla.businesstime import BusinessCalendar, CalendarError, NoWorkingTime
from helpline.sla.models import BreachAction, Calendar, CalendarAssignment, SlaPolicy
from helpline.tickets.models import PRIORITY_NAMES, Channel

CALENDAR_FIELDS = ("name", "tz", "is_default", "hours", "holidays", "exceptions")
POLICY_FIELDS = (
    "name", "kind", "position", "is_active", "organization", "plan", "priorities", "category",
    "channel", "team", "first_response_minutes", "first_response_business",
    "next_response_minutes", "next_response_business", "resolution_minutes",
    "resolution_business", "calendar", "warning_percent", "breach_actions",
)  # fmt: skip


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators may change SLA settings."))


def _check_known(values: dict[str, Any], fields: Iterable[str]) -> None:
    """ValidationError naming the fields that are not among `fields`."""
    unknown = set(values) - set(fields)
    if unknown:
        raise ValidationError(_("Unknown fields."), fields={name: "unknown" for name in unknown})


def validate_calendar(tz: str, hours: Any, holidays: Any, exceptions: Any) -> None:
    """422 with the offending field unless the definition builds and has working time."""
    if not isinstance(hours, dict) or not isinstance(holidays, list):
        raise ValidationError(
            _("Invalid calendar."), fields={"hours": "object", "holidays": "list"}
        )
    if not isinstance(exceptions, list):
        raise ValidationError(_("Invalid calendar."), fields={"exceptions": "list"})
    try:
        calendar = BusinessCalendar(tz=tz, hours=hours, holidays=holidays, exceptions=exceptions)
        calendar.add(datetime(2000, 1, 1, tzinfo=UTC), timedelta(seconds=1))
    except NoWorkingTime as exc:
        raise ValidationError(
            _("The calendar has no working time."), fields={exc.field or "hours": str(exc)}
        ) from None
    except CalendarError as exc:
        raise ValidationError(_("Invalid calendar."), fields={exc.field: str(exc)}) from None


def _assign(
    calendar: Calendar,
    teams: Iterable[Team] | None,
    organizations: Iterable[Organization] | None,
    plans: Iterable[SupportPlan] | None,
) -> None:
    given: tuple[tuple[str, Iterable[Any] | None], ...] = (
        ("team", teams),
        ("organization", organizations),
        ("plan", plans),
    )
    for field, targets in given:
        if targets is None:
            continue
        chosen: list[Any] = list(targets)
        CalendarAssignment.objects.filter(calendar=calendar, **{f"{field}__isnull": False}).exclude(
            **{f"{field}__in": chosen}
        ).delete()
        for target in chosen:
            lookup: dict[str, Any] = {field: target}
            CalendarAssignment.objects.update_or_create(defaults={"calendar": calendar}, **lookup)


def _clear_other_default(calendar: Calendar) -> None:
    if calendar.is_default:
        Calendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(is_default=False)


def calendar_create(
    *,
    actor: User,
    name: str,
    tz: str = "UTC",
    hours: dict[str, Any],
    holidays: list[str] | None = None,
    exceptions: list[dict[str, Any]] | None = None,
    is_default: bool = False,
    teams: Iterable[Team] | None = None,
    organizations: Iterable[Organization] | None = None,
    plans: Iterable[SupportPlan] | None = None,
) -> Calendar:
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Name is required."), fields={"name": "required"})
    validate_calendar(tz, hours, holidays or [], exceptions or [])
    try:
        with transaction.atomic():
            calendar = Calendar(
                name=name,
                tz=tz,
                hours=hours,
                holidays=holidays or [],
                exceptions=exceptions or [],
                is_default=is_default,
            )
            _clear_other_default(calendar)
            calendar.save()
            _assign(calendar, teams, organizations, plans)
    except IntegrityError:
        raise Conflict(_("A calendar with this name exists."), fields={"name": "taken"}) from None
    return calendar


def calendar_update(
    *,
    actor: User,
    calendar: Calendar,
    teams: Iterable[Team] | None = None,
    organizations: Iterable[Organization] | None = None,
    plans: Iterable[SupportPlan] | None = None,
    **changes: Any,
) -> Calendar:
    _require_admin(actor)
    _check_known(changes, CALENDAR_FIELDS)
    for name, value in changes.items():
        setattr(calendar, name, value.strip() if name == "name" else value)
    if not calendar.name:
        raise ValidationError(_("Name is required."), fields={"name": "required"})
    validate_calendar(calendar.tz, calendar.hours, calendar.holidays, calendar.exceptions)
    try:
        with transaction.atomic():
            _clear_other_default(calendar)
            calendar.save(update_fields=[*changes, "updated_at"])
            _assign(calendar, teams, organizations, plans)
    except IntegrityError:
        raise Conflict(_("A calendar with this name exists."), fields={"name": "taken"}) from None
    return calendar


def calendar_delete(*, actor: User, calendar: Calendar) -> None:
    _require_admin(actor)
    calendar.delete()


def _validate_policy(values: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if not str(values.get("name") or "").strip():
        errors["name"] = "required"
    if values.get("kind", SlaPolicy.Kind.SLA) not in SlaPolicy.Kind.values:
        errors["kind"] = "one of sla, ola"
    priorities = values.get("priorities") or []
    if not isinstance(priorities, list) or any(p not in PRIORITY_NAMES for p in priorities):
        errors["priorities"] = f"a list of {', '.join(PRIORITY_NAMES)}"
    if values.get("channel") and values["channel"] not in Channel.values:
        errors["channel"] = "invalid"
    actions = values.get("breach_actions") or []
    if not isinstance(actions, list) or any(a not in BreachAction.values for a in actions):
        errors["breach_actions"] = f"a list of {', '.join(BreachAction.values)}"
    percent = values.get("warning_percent", 75)
    if not isinstance(percent, int) or not 1 <= percent <= 100:
        errors["warning_percent"] = "between 1 and 100"
    for metric in ("first_response", "next_response", "resolution"):
        minutes = values.get(f"{metric}_minutes")
        if minutes is not None and (not isinstance(minutes, int) or minutes <= 0):
            errors[f"{metric}_minutes"] = "a positive number of minutes"
    if values.get("kind") == SlaPolicy.Kind.OLA and not values.get("first_response_minutes"):
        errors["first_response_minutes"] = "an OLA needs a first response (hand-off) target"
    if errors:
        raise ValidationError(_("Invalid SLA policy."), fields=errors)


def policy_create(*, actor: User, **values: Any) -> SlaPolicy:
    _require_admin(actor)
    _check_known(values, POLICY_FIELDS)
    _validate_policy(values)
    values["name"] = values["name"].strip()
    try:
        with transaction.atomic():
            return SlaPolicy.objects.create(**values)
    except IntegrityError:
        raise Conflict(_("A policy with this name exists."), fields={"name": "taken"}) from None


def policy_update(*, actor: User, policy: SlaPolicy, **changes: Any) -> SlaPolicy:
    _require_admin(actor)
    _check_known(changes, POLICY_FIELDS)
    current = {name: getattr(policy, name) for name in POLICY_FIELDS}
    _validate_policy({**current, **changes})
    for name, value in changes.items():
        setattr(policy, name, value.strip() if name == "name" else value)
    try:
        with transaction.atomic():
            policy.save(update_fields=[*changes, "updated_at"])
    except IntegrityError:
        raise Conflict(_("A policy with this name exists."), fields={"name": "taken"}) from None
    return policy


def policy_delete(*, actor: User, policy: SlaPolicy) -> None:
    _require_admin(actor)
    policy.delete()
