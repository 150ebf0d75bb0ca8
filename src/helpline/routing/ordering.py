"""Queue order: which waiting ticket of a team comes first.

Every ticket gets a `queue_at` when it arrives: its arrival plus an *allowance* between 0
and the ageing bound `B` (setting `HELPLINE_QUEUE_AGEING_BOUND_MINUTES`, default 240). The
allowance shrinks with the ticket's weight: its priority, its customer's plan
(`SupportPlan.priority_weight`) and the customer's tenure. Queues are ordered by
`queue_at` (earliest first), so an urgent ticket of a premium customer of long standing
goes ahead of a low one that arrived a little earlier, but since every `queue_at` lies in
[arrival, arrival + B], no ticket is ever overtaken by one that arrived more than `B` after
it: ageing bounds every wait.

SLA urgency comes on top: a ticket's *queue key* is its `queue_at`, or its SLA deadline
(`sla_due_at`) when that comes first, but never before its arrival; the key stays in
[arrival, arrival + B], so the guarantee holds (docs/routing.md, "Queue order").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce, Greatest, Least

from helpline.tickets.models import Priority, Ticket

PRIORITY_SHARE = {
    Priority.LOW: 0.0,
    Priority.NORMAL: 0.15,
    Priority.HIGH: 0.35,
    Priority.URGENT: 0.6,
}
PLAN_SHARE_PER_WEIGHT = 0.1  # per plan weight above 1
PLAN_SHARE_MAX = 0.3
TENURE_SHARE_PER_YEAR = 0.05
TENURE_SHARE_MAX = 0.1


def ageing_bound() -> timedelta:
    return timedelta(minutes=settings.HELPLINE_QUEUE_AGEING_BOUND_MINUTES)


def weight(
    *, priority: int, plan_weight: int | None, customer_since: datetime | None, now: datetime
) -> float:
    """The ticket's weight in [0, 1]: priority, plan and tenure shares, capped at 1."""
    share = PRIORITY_SHARE[Priority(priority)]
    if plan_weight is not None and plan_weight > 1:
        share += min(PLAN_SHARE_MAX, PLAN_SHARE_PER_WEIGHT * (plan_weight - 1))
    if customer_since is not None and customer_since < now:
        years = (now - customer_since).days // 365
        share += min(TENURE_SHARE_MAX, TENURE_SHARE_PER_YEAR * years)
    return min(1.0, share)


def queue_at(
    *, arrival: datetime, priority: int, plan_weight: int | None, customer_since: datetime | None
) -> datetime:
    """arrival + B * (1 - weight): in [arrival, arrival + B]."""
    w = weight(
        priority=priority, plan_weight=plan_weight, customer_since=customer_since, now=arrival
    )
    return arrival + ageing_bound() * (1.0 - w)


def queue_key(
    *, created_at: datetime, queue_at: datetime | None, sla_due_at: datetime | None
) -> datetime:
    """The ticket's place in its team's queue (earliest first): `queue_at`, or the SLA
    deadline when that comes first, never before arrival. A ticket without `queue_at`
    counts from its arrival."""
    base = queue_at if queue_at is not None else created_at
    if sla_due_at is None:
        return base
    return min(base, max(created_at, sla_due_at))


def queue_key_expression() -> Least:
    """`queue_key` in SQL. Coalesce, because SQLite's MIN/MAX of a NULL is NULL while
    PostgreSQL's LEAST/GREATEST skip it."""
    base = Coalesce(F("queue_at"), F("created_at"))
    return Least(base, Greatest(F("created_at"), Coalesce(F("sla_due_at"), base)))


def in_queue_order(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """The tickets annotated with `queue_key`, first in the queue first (ties by number)."""
    return tickets.annotate(queue_key=queue_key_expression()).order_by("queue_key", "pk")


def ticket_requeue(*, ticket_id: int) -> datetime | None:
    """Recompute a ticket's `queue_at` from its arrival and its current priority, plan and
    tenure (after its priority changed). The new value, or None for a missing ticket."""
    row = (
        Ticket.objects.filter(pk=ticket_id)
        .values(
            "created_at",
            "priority",
            "organization_id",
            "organization__created_at",
            "organization__plan__priority_weight",
            "requester__date_joined",
        )
        .first()
    )
    if row is None:
        return None
    has_org = row["organization_id"] is not None
    value = queue_at(
        arrival=row["created_at"],
        priority=row["priority"],
        plan_weight=row["organization__plan__priority_weight"],
        customer_since=row["organization__created_at"]
        if has_org
        else row["requester__date_joined"],
    )
    Ticket.objects.filter(pk=ticket_id).update(queue_at=value)
    return value
