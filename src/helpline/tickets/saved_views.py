"""Saved desk views: the API's ticket filters (as JSON) plus a sort, personal or shared.

The filters are validated into `selectors.TicketFilters` on the way in and again on the way
out, so a saved view always means what the ticket list API would mean by the same filters.
`"assignee": "me"` is kept as is and resolves to whoever opens the view.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, User
from helpline.core.errors import NotFound, PermissionDenied, ValidationError
from helpline.tickets.models import PRIORITY_NAMES, Channel, SavedView, Status
from helpline.tickets.selectors import TicketFilters

FILTER_NAMES = tuple(f.name for f in fields(TicketFilters))
LIST_FILTERS = ("status", "priority")
INT_FILTERS = ("team", "assignee", "organization", "requester", "category")
DATE_FILTERS = ("created_after", "created_before", "updated_after", "updated_before")
TEXT_FILTERS = ("channel", "tag", "q")
SORT_KEYS = ("number", "priority", "updated", "created")


def _invalid(name: str) -> ValidationError:
    return ValidationError(
        _("The filter %(name)s has an invalid value.") % {"name": name}, fields={name: "invalid"}
    )


def _one(value: Any) -> Any:
    """Query strings give lists; a single-valued filter takes the last non-empty value."""
    if isinstance(value, list | tuple):
        values = [item for item in value if item not in ("", None)]
        return values[-1] if values else None
    return value


def _int_value(name: str, value: Any) -> int | str | None:
    value = _one(value)
    if value in ("", None):
        return None
    if name == "assignee" and value == "me":
        return "me"
    if isinstance(value, bool):
        raise _invalid(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(name) from None
    if number < 1:
        raise _invalid(name)
    return number


def _list_value(name: str, value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value] if value else []
    allowed = Status.values if name == "status" else PRIORITY_NAMES
    clean = [str(item) for item in items if item not in ("", None)]
    if any(item not in allowed for item in clean):
        raise _invalid(name)
    return list(dict.fromkeys(clean))


def _date_value(name: str, value: Any) -> str | None:
    value = _one(value)
    if value in ("", None):
        return None
    parsed = parse_datetime(str(value)) if isinstance(value, str) else None
    if parsed is None:
        raise _invalid(name)
    return parsed.isoformat()


def clean_filters(data: Any) -> dict[str, Any]:
    """Validate filters given as JSON (or a query string's lists) into canonical JSON.

    Unknown names and bad values are a ValidationError (422), like the API's filters."""
    if not isinstance(data, dict):
        raise ValidationError(_("Filters must be an object."), fields={"filters": "invalid"})
    unknown = sorted(set(data) - set(FILTER_NAMES))
    if unknown:
        raise ValidationError(
            _("Unknown filter: %(name)s.") % {"name": unknown[0]}, fields={unknown[0]: "unknown"}
        )
    clean: dict[str, Any] = {}
    for name, value in data.items():
        if name in LIST_FILTERS:
            items = _list_value(name, value)
            if items:
                clean[name] = items
        elif name in INT_FILTERS:
            number = _int_value(name, value)
            if number is not None:
                clean[name] = number
        elif name in DATE_FILTERS:
            stamp = _date_value(name, value)
            if stamp is not None:
                clean[name] = stamp
        elif name == "unassigned":
            flag = _one(value)
            if flag in (True, "true", "1", "on"):
                clean[name] = True
            elif flag not in (False, None, "", "false", "0"):
                raise _invalid(name)
        else:
            text = _one(value)
            if text in ("", None):
                continue
            if not isinstance(text, str) or len(text) > 500:
                raise _invalid(name)
            if name == "channel" and text not in Channel.values:
                raise _invalid(name)
            clean[name] = text.strip()
    return clean


def to_ticket_filters(data: dict[str, Any], *, actor: User) -> TicketFilters:
    """Canonical filter JSON (see `clean_filters`) as the selectors' TicketFilters."""
    values: dict[str, Any] = dict(clean_filters(data))
    if values.get("assignee") == "me":
        values["assignee"] = actor.pk
    for name in DATE_FILTERS:
        if name in values:
            values[name] = datetime.fromisoformat(values[name])
    return TicketFilters(**values)


def _clean_sort(sort: str) -> str:
    if sort.removeprefix("-") not in SORT_KEYS:
        raise ValidationError(_("Unknown sort order."), fields={"sort": "invalid"})
    return sort


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationError(
            _("Give the view a name (up to 100 characters)."), fields={"name": "invalid"}
        )
    return name


def _require_staff(actor: User) -> None:
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only agents may save views."))


def saved_view_list(*, actor: User) -> QuerySet[SavedView]:
    """The actor's own views and the views others shared (agents only)."""
    if not actor.is_staff_member:
        return SavedView.objects.none()
    return SavedView.objects.filter(Q(owner=actor) | Q(shared=True)).select_related("owner")


def access_saved_view(actor: User, view_id: Any) -> SavedView:
    try:
        pk = int(view_id)
    except (TypeError, ValueError):
        raise NotFound(_("View not found.")) from None
    view = saved_view_list(actor=actor).filter(pk=pk).first()
    if view is None:
        raise NotFound(_("View not found."))
    return view


def can_edit(actor: User, view: SavedView) -> bool:
    return view.owner_id == actor.pk or (view.shared and actor.role == Role.ADMIN)


def saved_view_create(
    *, actor: User, name: str, filters: dict[str, Any], sort: str = "-updated", shared: bool = False
) -> SavedView:
    _require_staff(actor)
    name = _clean_name(name)
    with transaction.atomic():
        if SavedView.objects.filter(owner=actor, name=name).exists():
            raise ValidationError(
                _("You already have a view with this name."), fields={"name": "taken"}
            )
        return SavedView.objects.create(
            owner=actor,
            name=name,
            filters=clean_filters(filters),
            sort=_clean_sort(sort),
            shared=shared,
        )


def saved_view_delete(*, actor: User, view: SavedView) -> None:
    if not can_edit(actor, view):
        raise PermissionDenied(_("Only the owner may delete this view."))
    view.delete()
