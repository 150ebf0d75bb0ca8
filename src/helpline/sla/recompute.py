"""Set-based recompute of every running timer's deadlines (after a calendar or holiday
change, or to repair), and of `Ticket.sla_due_at`.

PostgreSQL works in chunks of consecutive tickets. Per chunk, the business-time timers are
read as plain tuples and their `due_at`/`warn_at` computed in integer microseconds with a
`Timeline` per calendar (two binary searches per deadline); then, in one transaction on a
writer connection, the changed ones are written (`UPDATE ... FROM unnest(...)`), the
calendar-time timers are recomputed by one statement (their deadlines are `running_since` plus
seconds: no Python), and the chunk's tickets get their `sla_due_at` refreshed. Two writer
connections work while Python computes the next chunk. Timers are written in deadline order
(their new index entries go in key order); statements reach both tables by ticket id range
only, so a chunk costs the same whatever its place and the table statistics.
SQLite reads every running timer in primary-key batches, computes all deadlines in Python,
writes with `executemany` and refreshes `sla_due_at` in one statement.

The writer connections commit each chunk with `synchronous_commit = off` (see `_chunk`: a
crash may lose the last chunks, and running the recompute again repairs that).

Only rows whose deadlines change are written. Deadlines move but no timer changes state, so no
audit entries or events are written; warnings and breaches that became due fire on the
periodic task's next run.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from queue import Queue
from threading import Thread
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Max, Min
from django.utils import timezone

from helpline.sla.businesstime import Timeline
from helpline.sla.models import Calendar, SlaTimer

WINDOW_DAYS_AFTER = 400
WRITERS = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_ID = 2**63 - 1

# Table names are fixed (sla_slatimer, tickets_ticket): the statements are constants.
_PG_COLUMNS = (
    "SELECT id, (extract(epoch FROM running_since) * 1000000)::bigint, elapsed_seconds, "
    "target_seconds, warning_percent, business, calendar_id, "
    "(extract(epoch FROM due_at) * 1000000)::bigint, "
    "(extract(epoch FROM warn_at) * 1000000)::bigint, ticket_id "
    "FROM sla_slatimer WHERE state = 'running' AND running_since IS NOT NULL "
    "AND business AND calendar_id IS NOT NULL "
)
# The business-time timers of the next tickets after a ticket id, in ticket order.
PG_READ = _PG_COLUMNS + "AND ticket_id > %s ORDER BY ticket_id LIMIT %s"
PG_READ_TICKET = _PG_COLUMNS + "AND ticket_id = %s"
PG_WRITE = (
    "UPDATE sla_slatimer AS t SET "
    "due_at = timestamptz 'epoch' + v.due * interval '1 microsecond', "
    "warn_at = timestamptz 'epoch' + v.warn * interval '1 microsecond' "
    "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::bigint[]) AS due, "
    "unnest(%s::bigint[]) AS warn) AS v WHERE t.id = v.id"
)


def _pg_us(seconds: str) -> str:
    """SQL for `_us_of(seconds)`: whole seconds exactly, the fraction's microseconds in float8
    rounded half to even (`round(float8)`), negative amounts as 0."""
    return (
        f"greatest(trunc({seconds})::bigint * 1000000 "
        f"+ round(({seconds} - trunc({seconds})) * 1e6::float8)::bigint, 0)"
    )


_PG_DUE = "running_since + {} * interval '1 microsecond'".format(
    _pg_us("(target_seconds - elapsed_seconds)")
)
_PG_WARN = "running_since + {} * interval '1 microsecond'".format(
    _pg_us("((target_seconds::bigint * warning_percent)::float8 / 100 - elapsed_seconds)")
)
# Calendar-time deadlines in one statement, with the arithmetic of `_Deadlines.changed`.
PG_CALENDAR_TIME = (
    f"UPDATE sla_slatimer SET due_at = {_PG_DUE}, warn_at = {_PG_WARN} "  # noqa: S608
    "WHERE state = 'running' AND running_since IS NOT NULL "
    "AND NOT (business AND calendar_id IS NOT NULL) AND ticket_id > %s AND ticket_id <= %s "
    f"AND (due_at IS DISTINCT FROM {_PG_DUE} OR warn_at IS DISTINCT FROM {_PG_WARN})"
)
# Every ticket of the chunk (ids in (lo, hi]): its earliest running deadline, or NULL. Both
# tables are reached by their ticket id ranges only, whatever the statistics say.
_PG_EARLIEST = (
    "(SELECT min(s.due_at) FROM sla_slatimer AS s WHERE s.ticket_id = t.id AND s.state = 'running')"
)
PG_DUE = (
    f"UPDATE tickets_ticket AS t SET sla_due_at = {_PG_EARLIEST} "  # noqa: S608
    f"WHERE t.id > %s AND t.id <= %s AND t.sla_due_at IS DISTINCT FROM {_PG_EARLIEST}"
)
SQLITE_READ = (
    "SELECT id, running_since, elapsed_seconds, target_seconds, warning_percent, business, "
    "calendar_id, due_at, warn_at, ticket_id FROM sla_slatimer "
    "WHERE state = 'running' AND running_since IS NOT NULL AND id > %s ORDER BY id LIMIT %s"
)
SQLITE_WRITE = "UPDATE sla_slatimer SET due_at = %s, warn_at = %s WHERE id = %s"
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


def _us_of(seconds: float) -> int:
    """`timedelta(seconds=max(seconds, 0.0))` in microseconds, as `services.schedule` counts
    it: whole seconds exactly, then the fraction's microseconds rounded half to even (not
    `round(seconds * 1e6)`, which rounds twice)."""
    if seconds <= 0:
        return 0
    whole = int(seconds)
    return whole * 1_000_000 + round((seconds - whole) * 1_000_000)


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
        for row in rows:
            pk, since_raw, elapsed, target, percent, business, calendar_id, due, warn, _ = row
            since = since_raw if type(since_raw) is int else _us(since_raw)
            assert since is not None
            remaining = _us_of(target - elapsed)
            warn_left = _us_of(target * percent / 100 - elapsed)
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


def _chunk(alias: str, lo: int, hi: int, rows: list[Row], *, durable: bool = True) -> int:
    """Write one chunk of tickets (ids in (lo, hi]): the changed business-time deadlines, the
    calendar-time ones, then the tickets' `sla_due_at`. Returns how many timers changed.

    `durable=False` (the writer connections, each chunk its own transaction): the commit does
    not wait for its WAL to reach the disk (`synchronous_commit = off`). A crash may then lose
    the last chunks' commits (never part of one: each is atomic, and the database stays
    consistent), which is harmless here: the recompute is idempotent and is simply run again
    (`sla_recompute`); until then those tickets keep their previous deadlines, as if the
    recompute had not reached them yet. Never inside a caller's transaction, whose own writes
    must stay durable."""
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        if not durable:
            cursor.execute("SET LOCAL synchronous_commit = off")
        if rows:
            # In deadline order, the index entries of the new deadlines go in key order.
            rows = sorted(rows, key=itemgetter(1))
            arrays = ["{" + ",".join(str(row[i]) for row in rows) + "}" for i in range(3)]
            cursor.execute(PG_WRITE, arrays)
        cursor.execute(PG_CALENDAR_TIME, [lo, hi])
        changed = len(rows) + cursor.rowcount
        cursor.execute(PG_DUE, [lo, hi])
    return changed


class _Writers:
    """Threads that write chunks, each on its own connection (kept for the whole run)."""

    def __init__(self) -> None:
        self.jobs: Queue[tuple[Future[int], int, int, list[Row]] | None] = Queue(WRITERS)
        self.pending: deque[Future[int]] = deque()
        self.threads = [Thread(target=self._run, daemon=True) for _ in range(WRITERS)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        configured = False
        try:
            while (job := self.jobs.get()) is not None:
                future, lo, hi, rows = job
                try:
                    if not configured:
                        with connections["default"].cursor() as cursor:
                            # Chunks' statements are small: compiling them costs more than
                            # it saves.
                            cursor.execute("SET jit = off")
                        configured = True
                    future.set_result(_chunk("default", lo, hi, rows, durable=False))
                except BaseException as error:  # handed to the main thread
                    future.set_exception(error)
        finally:
            connections.close_all()

    def submit(self, lo: int, hi: int, rows: list[Row]) -> int:
        """Queue a chunk (waiting while every writer is busy and one chunk is queued); returns
        the changes of the chunks finished meanwhile."""
        future: Future[int] = Future()
        self.jobs.put((future, lo, hi, rows))
        self.pending.append(future)
        done = 0
        while self.pending and self.pending[0].done():
            done += self.pending.popleft().result()
        return done

    def finish(self) -> int:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        return sum(future.result() for future in self.pending)


def refresh_all_ticket_due() -> None:
    """`sla_due_at` of every ticket := its earliest running deadline (set-based)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_DUE, [0, _LAST_ID])
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
    bounds = running.aggregate(first=Min("running_since"), last=Max("running_since"))
    first = bounds["first"]
    if first is None:
        refresh_all_ticket_due()
        return 0
    last = max(bounds["last"], now or timezone.now())
    deadlines = _Deadlines(first.astimezone(UTC), last.astimezone(UTC))
    if connection.vendor == "postgresql":
        return _recompute_postgres(deadlines, batch, progress)
    return _recompute_sqlite(deadlines, batch, progress)


def _recompute_postgres(
    deadlines: _Deadlines, batch: int, progress: Callable[[int], None] | None
) -> int:
    # Writer connections only see committed data: inside a transaction, write on this one.
    overlap = not connection.in_atomic_block
    changed = seen = lo = 0
    writers = _Writers() if overlap else None
    try:
        while lo < _LAST_ID:
            with connection.cursor() as cursor:
                cursor.execute(PG_READ, [lo, batch])
                rows = cursor.fetchall()
                hi = _LAST_ID
                if len(rows) == batch:
                    # The chunk ends with the last ticket read whole: before the batch's last
                    # ticket, or that ticket alone when it fills the batch.
                    hi = rows[-1][9]
                    cut = len(rows)
                    while cut and rows[cut - 1][9] == hi:
                        cut -= 1
                    if cut:
                        rows, hi = rows[:cut], hi - 1
                    else:
                        cursor.execute(PG_READ_TICKET, [hi])
                        rows = cursor.fetchall()
            updates = deadlines.changed(rows)
            if writers is not None:
                changed += writers.submit(lo, hi, updates)
            else:
                changed += _chunk(connection.alias, lo, hi, updates)
            seen += len(rows)
            lo = hi
            if progress is not None:
                progress(seen)
    finally:
        if writers is not None:
            changed += writers.finish()
    return changed


def _recompute_sqlite(
    deadlines: _Deadlines, batch: int, progress: Callable[[int], None] | None
) -> int:
    changed = seen = after = 0
    adapt = connection.ops.adapt_datetimefield_value
    while True:
        with connection.cursor() as cursor:
            cursor.execute(SQLITE_READ, [after, batch])
            rows = cursor.fetchall()
        if not rows:
            break
        updates = deadlines.changed(rows)
        if updates:
            with transaction.atomic(), connection.cursor() as cursor:
                values = [(adapt(_from_us(d)), adapt(_from_us(w)), pk) for pk, d, w in updates]
                cursor.executemany(SQLITE_WRITE, values)
        changed += len(updates)
        seen += len(rows)
        after = rows[-1][0]
        if progress is not None:
            progress(seen)
    refresh_all_ticket_due()
    return changed
