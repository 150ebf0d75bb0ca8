"""Set-based recompute of every running timer's deadlines (after a calendar or holiday
change, or to repair), and of `Ticket.sla_due_at`.

Timers are read in primary-key batches as plain tuples; their `due_at`/`warn_at` are
computed in integer microseconds with a `Timeline` per calendar (two binary searches per
deadline); only rows whose deadlines change are written, one statement per batch
(`UPDATE ... FROM unnest(...)` on PostgreSQL, `executemany` on SQLite), on a second
connection so that the database writes one batch while Python computes the next.
`Ticket.sla_due_at` is then refreshed set-based. Deadlines move but no timer changes state,
so no audit entries or events are written; warnings and breaches that became due fire on
the periodic task's next run.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from helpline.sla.businesstime import Timeline
from helpline.sla.models import Calendar, SlaTimer

WINDOW_DAYS_AFTER = 400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Table names are fixed (sla_slatimer, tickets_ticket): the statements are constants.
PG_READ = (
    "SELECT id, (extract(epoch FROM running_since) * 1000000)::bigint, elapsed_seconds, "
    "target_seconds, warning_percent, business, calendar_id, "
    "(extract(epoch FROM due_at) * 1000000)::bigint, "
    "(extract(epoch FROM warn_at) * 1000000)::bigint "
    "FROM sla_slatimer WHERE state = 'running' AND running_since IS NOT NULL AND id > %s "
    "ORDER BY id LIMIT %s"
)
SQLITE_READ = (
    "SELECT id, running_since, elapsed_seconds, target_seconds, warning_percent, business, "
    "calendar_id, due_at, warn_at FROM sla_slatimer "
    "WHERE state = 'running' AND running_since IS NOT NULL AND id > %s ORDER BY id LIMIT %s"
)
PG_WRITE = (
    "UPDATE sla_slatimer AS t SET "
    "due_at = timestamptz 'epoch' + v.due * interval '1 microsecond', "
    "warn_at = timestamptz 'epoch' + v.warn * interval '1 microsecond' "
    "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::bigint[]) AS due, "
    "unnest(%s::bigint[]) AS warn) AS v WHERE t.id = v.id"
)
SQLITE_WRITE = "UPDATE sla_slatimer SET due_at = %s, warn_at = %s WHERE id = %s"
PG_DUE_SET = (
    "UPDATE tickets_ticket AS t SET sla_due_at = m.due FROM (SELECT ticket_id, "
    "min(due_at) AS due FROM sla_slatimer WHERE state = 'running' GROUP BY ticket_id) AS m "
    "WHERE t.id = m.ticket_id AND t.sla_due_at IS DISTINCT FROM m.due"
)
PG_DUE_CLEAR = (
    "UPDATE tickets_ticket AS t SET sla_due_at = NULL WHERE t.sla_due_at IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM sla_slatimer s WHERE s.ticket_id = t.id "
    "AND s.state = 'running')"
)
SQLITE_DUE = (
    "UPDATE tickets_ticket SET sla_due_at = (SELECT min(s.due_at) FROM sla_slatimer s "
    "WHERE s.ticket_id = tickets_ticket.id AND s.state = 'running')"
)

Row = tuple[int, int, int]  # id, due (UTC microseconds), warn


def _us(value: Any) -> int | None:
    """A database value (datetime, SQLite text, or PostgreSQL epoch microseconds) -> µs."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class _Deadlines:
    def __init__(self, first: datetime, last: datetime) -> None:
        start = (first - timedelta(days=2)).date()
        end = (last + timedelta(days=WINDOW_DAYS_AFTER)).date()
        self.timelines = {
            calendar.pk: Timeline(calendar.business_calendar(), start, end)
            for calendar in Calendar.objects.all()
        }

    def changed(self, rows: list[tuple[Any, ...]]) -> list[Row]:
        """(id, due, warn) of the rows whose deadlines differ from the stored ones."""
        out: list[Row] = []
        append = out.append
        for pk, since_raw, elapsed, target, percent, business, calendar_id, due, warn in rows:
            since = since_raw if type(since_raw) is int else _us(since_raw)
            assert since is not None
            remaining = max(round((target - elapsed) * 1_000_000), 0)
            warn_left = max(round((target * percent / 100 - elapsed) * 1_000_000), 0)
            timeline = self.timelines.get(calendar_id) if business else None
            if timeline is None:
                new_due, new_warn = since + remaining, since + warn_left
            else:
                new_due, new_warn = _pair(timeline, since, remaining, warn_left)
            if type(due) is not int:
                due, warn = _us(due), _us(warn)
            if new_due != due or new_warn != warn:
                append((pk, new_due, new_warn))
        return out


def _pair(timeline: Timeline, since: int, first: int, second: int) -> tuple[int, int]:
    """`since` + two amounts of working time, sharing the search for `since`'s segment."""
    ends = timeline.ends
    index = bisect_right(ends, since)
    if since >= timeline.lo and index < len(ends):
        start = timeline.starts[index]
        position = timeline.before[index] + (since - start if since > start else 0)
        upto = timeline.upto
        results = []
        for amount in (first, second):
            if amount == 0:
                results.append(since)
                continue
            found = bisect_left(upto, position + amount)
            if found == len(upto):
                break
            results.append(timeline.starts[found] + (position + amount - timeline.before[found]))
        else:
            return results[0], results[1]
    calendar = timeline.calendar
    moment = _from_us(since)
    due = _us(calendar.add(moment, timedelta(microseconds=first)))
    warn = _us(calendar.add(moment, timedelta(microseconds=second)))
    assert due is not None and warn is not None
    return due, warn


def _write(alias: str, rows: list[Row]) -> None:
    db = connections[alias]
    with transaction.atomic(using=alias), db.cursor() as cursor:
        if db.vendor == "postgresql":
            arrays = ["{" + ",".join(str(row[i]) for row in rows) + "}" for i in range(3)]
            cursor.execute(PG_WRITE, arrays)
        else:
            adapt = db.ops.adapt_datetimefield_value
            cursor.executemany(
                SQLITE_WRITE,
                [(adapt(_from_us(due)), adapt(_from_us(warn)), pk) for pk, due, warn in rows],
            )


def refresh_all_ticket_due() -> None:
    """`sla_due_at` of every ticket := its earliest running deadline (set-based)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_DUE_SET)
            cursor.execute(PG_DUE_CLEAR)
        else:
            cursor.execute(SQLITE_DUE)


def recompute_running(
    *,
    batch: int = 20_000,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> int:
    """Recompute `due_at`/`warn_at` of every running timer and `Ticket.sla_due_at`.
    Returns how many timers' deadlines changed."""
    running = SlaTimer.objects.filter(state=SlaTimer.State.RUNNING, running_since__isnull=False)
    bounds = running.order_by("running_since").values_list("running_since", flat=True)
    first = bounds.first()
    if first is None:
        refresh_all_ticket_due()
        return 0
    last = max(bounds.last() or first, now or timezone.now())
    deadlines = _Deadlines(first.astimezone(UTC), last.astimezone(UTC))
    # SQLite has one writer: write on this connection. PostgreSQL: a second connection
    # (the writer thread's) writes while this one reads and computes.
    overlap = connection.vendor == "postgresql" and not connection.in_atomic_block
    read = PG_READ if connection.vendor == "postgresql" else SQLITE_READ
    changed = seen = after = 0
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future[None] | None = None
        while True:
            with connection.cursor() as cursor:
                cursor.execute(read, [after, batch])
                rows = cursor.fetchall()
            if not rows:
                break
            updates = deadlines.changed(rows)
            if pending is not None:
                pending.result()
                pending = None
            if updates and overlap:
                pending = writer.submit(_write_in_thread, updates)
            elif updates:
                _write(connection.alias, updates)
            changed += len(updates)
            seen += len(rows)
            after = rows[-1][0]
            if progress is not None:
                progress(seen)
        if pending is not None:
            pending.result()
    refresh_all_ticket_due()
    return changed


def _write_in_thread(rows: list[Row]) -> None:
    try:
        _write("default", rows)
    finally:
        connections.close_all()
