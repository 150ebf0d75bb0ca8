"""Template helpers for the desk and the portal: audit trail wording and value labels."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from helpline.tickets.models import Priority, Status, TicketLink

register = template.Library()

AUDIT_ACTIONS = {
    "created": _("created the ticket"),
    "replied": _("replied"),
    "noted": _("added an internal note"),
    "status_changed": _("changed the status"),
    "field_changed": _("changed a field"),
    "assigned": _("assigned the ticket"),
    "unassigned": _("unassigned the ticket"),
    "transferred": _("transferred the ticket"),
    "escalated": _("escalated the ticket"),
    "merged": _("merged this ticket into another"),
    "merged_in": _("merged another ticket into this one"),
    "linked": _("linked a ticket"),
    "unlinked": _("removed a link"),
    "watcher_added": _("added a watcher"),
    "watcher_removed": _("removed a watcher"),
    "routed": _("routed the ticket"),
}

FIELD_LABELS = {
    "status": _("Status"),
    "priority": _("Priority"),
    "subject": _("Subject"),
    "category": _("Category"),
    "tags": _("Tags"),
    "team": _("Team"),
    "assignee": _("Assignee"),
    "custom_fields": _("Custom fields"),
    "links": _("Links"),
    "watchers": _("Watchers"),
    "merged_into": _("Merged into"),
}

LINK_KINDS = {
    **dict(TicketLink.Kind.choices),
    "child": _("Child of"),
    "follow_up_of": _("Follow-up of"),
    "followed_up_by": _("Followed up by"),
    "parent": _("Parent of"),
}


@register.filter
def audit_action(action: str) -> str:
    return str(AUDIT_ACTIONS.get(action, action))


@register.filter
def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


@register.filter
def link_kind(kind: str) -> str:
    return str(LINK_KINDS.get(kind, kind))


@register.simple_tag
def audit_value(value: Any, field: str, refs: dict[str, dict[int, str]]) -> str:
    """A before/after value of the audit trail in words (names for ids, labels for codes)."""
    if value is None or value == "" or value == []:
        return "—"
    if field == "status" and value in Status.values:
        return str(Status(value).label)
    if field == "priority" and isinstance(value, str):
        try:
            return str(Priority.from_name(value).label)
        except ValueError:
            return value
    if field in ("team", "assignee", "watchers", "category"):
        names = refs.get(field if field != "watchers" else "assignee", {})
        return names.get(value, f"#{value}") if isinstance(value, int) else str(value)
    if field in ("links", "merged_into"):
        if isinstance(value, dict):
            return f"#{value.get('ticket')} ({link_kind(value.get('kind', ''))})"
        return f"#{value}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    return str(value)
