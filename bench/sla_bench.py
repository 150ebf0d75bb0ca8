"""Recompute SLA state (deadlines of every running timer, then Ticket.sla_due_at) for N open
tickets, as after a change of a calendar's hours or holidays.

    python bench/sla_bench.py                      # 100k tickets, PostgreSQL
    python bench/sla_bench.py --tickets 1000000    # 1M tickets, PostgreSQL
    python bench/sla_bench.py --url ""             # SQLite (bench/out/sla-sqlite-<size>/)

The database (default postgres://postgres@127.0.0.1:5432/helpline_bench_sla_<size>) is
dropped, recreated and migrated, then seeded with N open tickets and two timers each (first
response and resolution) over three calendars (Berlin with holidays, Shanghai with a holiday
week and a working Saturday, a Moscow night desk across midnight) plus calendar-time timers;
10 % are paused. Seeding uses bulk_create and is not timed. With `--reuse`, a database
already seeded with N tickets is kept (and migrated): every deadline and `sla_due_at` is reset
to NULL, the Berlin calendar's holidays restored and both tables vacuumed, so the scenarios
start from the same state as after a fresh seed (the tables' physical layout differs a little:
the reset leaves free space in their pages). The timed part is
`helpline.sla.recompute.recompute_running`: batched reads, deadlines from a per-calendar
Timeline, one UPDATE per batch, one set-based UPDATE of Ticket.sla_due_at. Afterwards a sample
of timers is checked against the per-timer reference (`services.schedule`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import benchenv

CALENDARS = [
    {
        "name": "Berlin office",
        "tz": "Europe/Berlin",
        "hours": {
            d: [["09:00", "12:30"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
        },
        "holidays": ["01-01", "05-01", "10-03", "12-24..12-26", "2026-04-03", "2026-04-06"],
    },
    {
        "name": "Shanghai office",
        "tz": "Asia/Shanghai",
        "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-10-01..2026-10-07", "2027-02-05..2027-02-11"],
        "exceptions": [{"start": "2026-10-10T09:00", "end": "2026-10-10T18:00", "working": True}],
    },
    {
        "name": "Moscow night desk",
        "tz": "Europe/Moscow",
        "hours": {d: [["22:00", "06:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sun")},
        "holidays": ["01-01..01-08"],
    },
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(n: int, now: datetime) -> dict[str, Any]:
    from helpline.accounts.models import User
    from helpline.sla.models import Calendar, SlaPolicy, SlaTimer
    from helpline.tickets.models import Ticket

    started = time.perf_counter()
    rng = random.Random(4)
    requester = User.objects.create_user("bench-customer@example.test", None, display_name="Bench")
    calendars = [Calendar.objects.create(**spec) for spec in CALENDARS]
    policy = SlaPolicy.objects.create(
        name="Bench", first_response_minutes=240, resolution_minutes=2400
    )
    batch = 10_000
    made = 0
    while made < n:
        size = min(batch, n - made)
        tickets = Ticket.objects.bulk_create(
            [
                Ticket(subject=f"Bench ticket {made + i}", requester=requester, status="open")
                for i in range(size)
            ]
        )
        timers = []
        for ticket in tickets:
            calendar = rng.choice(calendars)
            business = rng.random() < 0.9
            for kind, target in (("first_response", 4 * 3600), ("resolution", 40 * 3600)):
                since = now - timedelta(seconds=rng.uniform(0, 5 * 86400))
                paused = rng.random() < 0.1
                timers.append(
                    SlaTimer(
                        ticket=ticket,
                        kind=kind,
                        policy=policy,
                        calendar=calendar,
                        business=business,
                        target_seconds=target,
                        warning_percent=75,
                        state="paused" if paused else "running",
                        started_at=since,
                        running_since=None if paused else since,
                        paused_at=since if paused else None,
                        elapsed_seconds=rng.uniform(0, target / 2),
                    )
                )
        SlaTimer.objects.bulk_create(timers, batch_size=5000)
        made += size
        if made % 100_000 == 0 or made == n:
            log(f"  seeded {made:,} tickets")
    return {"seed_seconds": round(time.perf_counter() - started, 1)}


def seeded(kind: str, n: int) -> bool:
    """Whether the bench database already holds a seed of `n` tickets (PostgreSQL only)."""
    if kind != "postgres":
        return False
    import dj_database_url
    import psycopg

    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        with psycopg.connect(
            dbname=params["NAME"],
            user=params.get("USER") or None,
            password=params.get("PASSWORD") or None,
            host=params.get("HOST") or None,
            port=params.get("PORT") or None,
        ) as conn:
            row = conn.execute(
                "SELECT count(*) FROM tickets_ticket WHERE subject LIKE 'Bench ticket %'"
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == n


def reset() -> None:
    """Back to the state after seeding: no deadlines, the calendars as specified."""
    from django.db import connection, transaction

    from helpline.sla.models import Calendar

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_slatimer SET due_at = NULL, warn_at = NULL "
            "WHERE due_at IS NOT NULL OR warn_at IS NOT NULL"
        )
        cursor.execute("UPDATE tickets_ticket SET sla_due_at = NULL WHERE sla_due_at IS NOT NULL")
        for spec in CALENDARS:
            Calendar.objects.filter(name=spec["name"]).update(holidays=spec["holidays"])


def check_sample(size: int = 2000) -> int:
    """Compare recomputed deadlines with the per-timer reference; returns mismatches."""
    from helpline.sla.models import SlaTimer
    from helpline.sla.services import CalendarCache, schedule

    cache = CalendarCache()
    wrong = 0
    sample = SlaTimer.objects.filter(state="running").select_related("calendar").order_by("?")
    for timer in sample[:size]:
        due, warn = timer.due_at, timer.warn_at
        schedule(timer, cache.get(timer.calendar))
        wrong += due != timer.due_at or warn != timer.warn_at
    return wrong


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--url", default=None, help='Database URL ("" for SQLite).')
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep an already seeded database: reset its deadlines instead of reseeding.",
    )
    args = parser.parse_args(argv)
    size = benchenv.label(args.tickets)
    url = args.url
    if url is None:
        url = f"postgres://postgres@127.0.0.1:5432/helpline_bench_sla_{size}"
    kind = benchenv.configure(url, args.tickets)
    directory = benchenv.OUT / f"sla-{kind}-{size}"
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["HELPLINE_DATA_DIR"] = str(directory)
    reuse = args.reuse and seeded(kind, args.tickets)
    if not reuse:
        benchenv.recreate_database()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from helpline.sla.models import Calendar, SlaTimer
    from helpline.sla.recompute import recompute_running

    call_command("migrate", verbosity=0)
    now = datetime(2026, 3, 11, 12, tzinfo=UTC)
    result: dict[str, Any] = {"db": kind, "tickets": args.tickets, "reused": reuse}
    if reuse:
        log(f"reusing the {args.tickets:,} seeded tickets on {kind}: resetting deadlines")
        reset()
    else:
        log(f"seeding {args.tickets:,} open tickets on {kind}")
        result.update(seed(args.tickets, now))
    if kind == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE sla_slatimer")
            cursor.execute("VACUUM ANALYZE tickets_ticket")
    result["load_before"] = round(os.getloadavg()[0], 1)
    result["running_timers"] = SlaTimer.objects.filter(state="running").count()
    berlin = Calendar.objects.get(name="Berlin office")
    scenarios = {
        # every deadline is computed and written (none stored yet): the worst case
        "full": lambda: None,
        # a new holiday in Berlin on Thursday 12 March moves a share of the deadlines
        "holiday": lambda: Calendar.objects.filter(pk=berlin.pk).update(
            holidays=[*berlin.holidays, "2026-03-12"]
        ),
        # nothing changed: every deadline is computed, none written
        "unchanged": lambda: None,
    }
    for name, prepare in scenarios.items():
        prepare()
        started = time.perf_counter()
        changed = recompute_running(batch=args.batch, now=now)
        seconds = time.perf_counter() - started
        result[name] = {
            "seconds": round(seconds, 2),
            "changed_timers": changed,
            "tickets_per_second": round(args.tickets / seconds),
        }
        log(f"  {name}: {changed:,} timers changed in {seconds:.1f} s")
    result["load_after"] = round(os.getloadavg()[0], 1)
    result["sample_mismatches"] = check_sample()
    full = result["full"]
    print(
        f"{kind}: recomputed SLA state of {args.tickets:,} open tickets "
        f"({result['running_timers']:,} running timers) in {full['seconds']:.1f} s = "
        f"{full['tickets_per_second']:,} tickets/s (holiday added: {result['holiday']['seconds']} s"
        f", unchanged: {result['unchanged']['seconds']} s; sample mismatches: "
        f"{result['sample_mismatches']}; load average {result['load_before']} before, "
        f"{result['load_after']} after)"
    )
    (directory / "sla_bench.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
