"""`{% sla_state ticket as sla %}`: the SLA badge state of a ticket, for queues and pages.

The state comes from `Ticket.sla_due_at` plus the earliest warning time of the ticket's
running timers. The warning times of every ticket in the template's `tickets` list are
loaded with the first call (one query per page, not one per row).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Min
from django.utils import timezone

from helpline.sla.models import SlaTimer
from helpline.tickets.models import Ticket

register = template.Library()


def _load_warnings(tickets: list[Ticket]) -> None:
    pending = [t for t in tickets if not hasattr(t, "_sla_warn_at")]
    if not pending:
        return
    rows = dict(
        SlaTimer.objects.filter(
            ticket__in=[t.pk for t in pending if t.sla_due_at is not None],
            state=SlaTimer.State.RUNNING,
        )
        .values("ticket")
        .annotate(warn=Min("warn_at"))
        .values_list("ticket", "warn")
    )
    for ticket in pending:
        ticket._sla_warn_at = rows.get(ticket.pk)  # type: ignore[attr-defined]


@register.simple_tag(takes_context=True)
def sla_state(context: Any, ticket: Any) -> dict[str, Any] | None:
    """{"status": ok|warning|breached, "due", "now"} or None when no clock runs."""
    if not isinstance(ticket, Ticket) or ticket.sla_due_at is None:
        return None
    listed = [t for t in (context.get("tickets") or []) if isinstance(t, Ticket)]
    _load_warnings([*listed, ticket])
    now = timezone.now()
    warn_at = getattr(ticket, "_sla_warn_at", None)
    if ticket.sla_due_at <= now:
        status = "breached"
    elif warn_at is not None and warn_at <= now:
        status = "warning"
    else:
        status = "ok"
    return {"status": status, "due": ticket.sla_due_at, "now": now}
