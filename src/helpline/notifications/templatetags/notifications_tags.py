"""`{% message_deliveries message %}`: the e-mail state under a message of the desk thread."""

from __future__ import annotations

from typing import Any

from django import template

from helpline.notifications.selectors import deliveries_by_message

register = template.Library()

# Reuse the desk's badge colours: green sent, blue queued, amber retrying, red failed.
BADGES = {
    "sent": "badge-solved",
    "queued": "badge-new",
    "retrying": "badge-on_hold",
    "failed": "badge-prio-high",
}


@register.inclusion_tag("notifications/_deliveries.html", takes_context=True)
def message_deliveries(context: template.Context, message: Any) -> dict[str, Any]:
    """One query per rendered thread: the ticket's e-mails are grouped once, then looked up."""
    cache = context.render_context
    key = f"notifications.deliveries.{message.ticket_id}"
    if key not in cache:
        cache[key] = deliveries_by_message(message.ticket_id)
    rows = cache[key].get(message.pk, [])
    return {"deliveries": [(row, BADGES[row.status]) for row in rows]}
