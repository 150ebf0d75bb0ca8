"""Where a ticket waiting for its first answer stands in its team's queue, and when we expect
to answer it (a selector: reads only).

Position: 1 + the team's other tickets awaiting a first answer (new or open, no first
response yet) whose queue key (`ordering.queue_key`) is smaller, ties by number.

Estimate: the team's recent throughput, the number of its tickets that got their first answer
in the last 7 days per business minute of the team's calendar over those days; the answer
is expected `position / throughput` business minutes from now. The calendar is the team's
(`sla.CalendarAssignment`), else the default one, else calendar time. Without any first
answer in the window there is no estimate. It is an estimate: the queue moves as tickets
arrive, get more urgent or are answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from helpline.routing import ordering
from helpline.sla.businesstime import BusinessCalendar, CalendarError
from helpline.sla.models import Calendar, CalendarAssignment
from helpline.tickets.models import Status, Ticket

THROUGHPUT_WINDOW = timedelta(days=7)
AWAITING = (Status.NEW, Status.OPEN)


@dataclass(frozen=True)
class QueuePlace:
    position: int
    estimated_answer_at: datetime | None  # None: no answers lately to estimate from


def awaits_first_answer(ticket: Ticket) -> bool:
    return (
        ticket.first_response_at is None
        and ticket.status in AWAITING
        and ticket.team_id is not None
    )


def team_calendar(team_id: int) -> BusinessCalendar | None:
    """The team's calendar, else the default one; None: calendar time (one query)."""
    found = (
        Calendar.objects.annotate(
            for_team=Exists(
                CalendarAssignment.objects.filter(calendar=OuterRef("pk"), team_id=team_id)
            )
        )
        .filter(Q(for_team=True) | Q(is_default=True))
        .order_by("-for_team")
        .first()
    )
    return found.business_calendar() if found is not None else None


def estimate(
    *, position: int, answered: int, calendar: BusinessCalendar | None, now: datetime
) -> datetime | None:
    """When the ticket at `position` should get its answer, at the rate of `answered` first
    answers in the window that ends `now`; None without answers (or working time)."""
    if answered <= 0:
        return None
    start = now - THROUGHPUT_WINDOW
    try:
        working = calendar.between(start, now) if calendar is not None else now - start
        if working <= timedelta(0):
            return None
        wait = working * position / answered
        return calendar.add(now, wait) if calendar is not None else now + wait
    except CalendarError:
        return None


def queue_place(ticket: Ticket, *, now: datetime | None = None) -> QueuePlace | None:
    """The ticket's place and expected answer; None unless it awaits its first answer in a
    team's queue. Two or three queries, each on an index. It tells nothing about other
    tickets but how many are ahead."""
    return queue_places([ticket], now=now)[ticket.pk]


def _ahead_count(waiting: QuerySet[Ticket], ticket: Ticket) -> int:
    """How many of `waiting` are ahead of `ticket` in the queue: one count."""
    key = ordering.queue_key(
        created_at=ticket.created_at, queue_at=ticket.queue_at, sla_due_at=ticket.sla_due_at
    )
    return (
        waiting.annotate(queue_key=ordering.queue_key_expression())
        .filter(Q(queue_key__lt=key) | Q(queue_key=key, pk__lt=ticket.pk))
        .count()
    )


def _ahead_counts(waiting: QuerySet[Ticket], tickets: Sequence[Ticket]) -> dict[int, int]:
    """How many of `waiting` are ahead of each of `tickets` (as `queue_place` counts), in
    two statements whatever the number of tickets. A waiting ticket's queue key is never
    after its `queue_at` (else its arrival): those whose one is before the smallest key of
    `tickets` are ahead of all of them and only counted; the others are numbered in queue
    order in the database, which returns the numbers of `tickets` only (each is among them:
    its key is at least the smallest). A ticket the database does not number (it changed
    meanwhile) is counted on its own."""
    keys = {
        ticket.pk: ordering.queue_key(
            created_at=ticket.created_at, queue_at=ticket.queue_at, sla_due_at=ticket.sla_due_at
        )
        for ticket in tickets
    }
    first = min(keys.values())
    based = waiting.alias(base=Coalesce(F("queue_at"), F("created_at")))
    before = based.filter(base__lt=first).count()
    rest = based.filter(base__gte=first).annotate(queue_key=ordering.queue_key_expression())
    inner, params = rest.values("pk", "queue_key").query.sql_with_params()
    marks = ", ".join(["%s"] * len(keys))
    sql = (
        "SELECT n.pk, n.place FROM (SELECT i.pk, ROW_NUMBER() OVER "  # noqa: S608
        f"(ORDER BY i.queue_key, i.pk) AS place FROM ({inner}) AS i) AS n WHERE n.pk IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *keys])
        places = dict(cursor.fetchall())
    by_pk = {ticket.pk: ticket for ticket in tickets}
    return {
        pk: before + places[pk] - 1 if pk in places else _ahead_count(waiting, by_pk[pk])
        for pk in keys
    }


def queue_places(
    tickets: Sequence[Ticket], *, now: datetime | None = None
) -> dict[int, QueuePlace | None]:
    """`queue_place` of several tickets (a batch of new ones) by ticket id: the same places,
    with per team the waiting tickets counted in two statements (`_ahead_counts`; one count
    for a team's only ticket), one count of its answers and its calendar once."""
    now = now or timezone.now()
    places: dict[int, QueuePlace | None] = {ticket.pk: None for ticket in tickets}
    by_team: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        if awaits_first_answer(ticket) and ticket.team_id is not None:
            by_team.setdefault(ticket.team_id, []).append(ticket)
    for team_id, members in by_team.items():
        team = Ticket.objects.filter(team_id=team_id)
        waiting = team.filter(first_response_at__isnull=True, status__in=AWAITING)
        if len(members) == 1:  # one count in the database beats reading the later keys
            ahead = {members[0].pk: _ahead_count(waiting, members[0])}
        else:
            ahead = _ahead_counts(waiting, members)
        answered = team.filter(
            first_response_at__gt=now - THROUGHPUT_WINDOW, first_response_at__lte=now
        ).count()
        calendar = team_calendar(team_id) if answered else None
        for ticket in members:
            position = ahead[ticket.pk] + 1
            when = (
                estimate(position=position, answered=answered, calendar=calendar, now=now)
                if answered
                else None
            )
            places[ticket.pk] = QueuePlace(position=position, estimated_answer_at=when)
    return places
