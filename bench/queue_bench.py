"""Benchmark the agent desk's queue page (`/desk/`): server time p50/p99 per queue view.

    python bench/queue_bench.py [--db postgres|sqlite] [--tickets N] [--requests R]

Uses the database `bench/seed.py` made for N tickets (`DATABASE_URL`, or the default bench
database of that size; seed it first, e.g. `python bench/run.py --tickets N` or
`python bench/seed.py`). Applies the tickets migrations the desk needs (saved views), signs
in a level-1 agent and a supervisor of the seeded desk with Django's test client (in process:
the full middleware stack, session and user lookups, the view, the selectors and the template
rendering, no network) and times R renders of each queue. Figures are printed, and the latest
run per database and size replaces its section of bench/RESULTS.md (between the queue
markers); raw numbers go to bench/out/queue-<db>-<size>.json.

Target (issue 3): p99 < 150 ms at 1M tickets on PostgreSQL.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import benchenv

TARGET_P99_MS = 150.0
START, END = "<!-- queue:start -->", "<!-- queue:end -->"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def measure(client: Any, url: str, requests: int) -> dict[str, Any]:
    from django.db import connection

    for _ in range(5):  # warm caches, the template loader and the connection
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    queries: list[str] = []
    with connection.execute_wrapper(
        lambda execute, sql, *rest: (queries.append(sql), execute(sql, *rest))[1]
    ):
        response = client.get(url)
    rows = response.content.decode().count("data-ticket=")
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    return {
        "url": url,
        "requests": requests,
        "rows": rows,
        "queries": len(queries),
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(percentile(times, 0.99), 1),
        "max_ms": round(max(times), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p99_ms": round(percentile(cpu, 0.99), 1),
    }


def next_page_url(client: Any, url: str) -> str | None:
    match = re.search(r'href="([^"]+)" rel="next"', client.get(url).content.decode())
    return "/desk/" + html.unescape(match.group(1)) if match else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    kind = benchenv.configure(args.url, args.tickets)
    seed_file = benchenv.data_dir() / "seed.json"
    if not seed_file.exists():
        raise SystemExit(f"{seed_file} is missing: seed the {kind} desk of {args.tickets} first")
    seed = json.loads(seed_file.read_text())
    os.environ["HELPLINE_ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from helpline.accounts.models import Role, Team, User

    call_command("migrate", "tickets", verbosity=0)
    line = (
        Team.objects.filter(kind=Team.Kind.LINE, level=1)
        .annotate(size=Count("tickets"))
        .order_by("-size")
        .first()
    )
    agent = User.objects.filter(role=Role.AGENT, teams=line).order_by("pk").first()
    supervisor = User.objects.filter(role=Role.SUPERVISOR).order_by("pk").first()
    assert agent is not None and supervisor is not None, "the seeded desk has no agents"
    agent_client, supervisor_client = Client(), Client()
    agent_client.force_login(agent)
    supervisor_client.force_login(supervisor)
    cases: list[tuple[str, Any, str | None]] = [
        ("agent: my tickets", agent_client, "/desk/?view=mine"),
        ("agent: my teams, unassigned", agent_client, "/desk/?view=team"),
        ("agent: pending", agent_client, "/desk/?view=pending"),
        ("agent: recently solved", agent_client, "/desk/?view=solved"),
        ("supervisor: all open", supervisor_client, "/desk/?view=all"),
        ("supervisor: all open, page 2", supervisor_client, None),
        ("supervisor: all open, urgent", supervisor_client, "/desk/?view=all&priority=urgent"),
        ("supervisor: all open by priority", supervisor_client, "/desk/?view=all&sort=-priority"),
    ]
    results = []
    load_before = os.getloadavg()[0]
    for name, client, url in cases:
        if url is None:
            url = next_page_url(client, "/desk/?view=all")
            if url is None:
                continue
        row = {"name": name, **measure(client, url, args.requests)}
        results.append(row)
        print(
            f"{name:36} p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  "
            f"max {row['max_ms']:7.1f} ms  web CPU p50 {row['cpu_p50_ms']:5.1f} ms  "
            f"{row['queries']} queries  {row['rows']} rows",
            flush=True,
        )
    return {
        "db": kind,
        "tickets": seed.get("tickets", args.tickets),
        "requests": args.requests,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "results": results,
        "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "cores": os.cpu_count(),
    }


def section(run_data: dict[str, Any]) -> str:
    size = benchenv.label(run_data["tickets"])
    worst = max(row["p99_ms"] for row in run_data["results"])
    verdict = "meets" if worst < TARGET_P99_MS else "misses"
    lines = [
        f"### Queue page, {run_data['db']}, {size} tickets ({run_data['at']})",
        "",
        f"{run_data['requests']} renders per row after 5 warm-up renders; server time in process "
        f"(Django test client: middleware, session, view, template); web CPU = this process's "
        f"CPU time per render (without PostgreSQL's). Worst p99 {worst} ms "
        f"{verdict} the {TARGET_P99_MS:.0f} ms target. Machine: {run_data.get('cores')} cores, "
        f"1-minute load average {run_data.get('load', ['?'])[0]} before and "
        f"{run_data.get('load', ['?', '?'])[-1]} after (other helpers' test runs included).",
        "",
        "| queue | p50 ms | p99 ms | max ms | web CPU p50 ms | queries | rows |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in run_data["results"]:
        lines.append(
            f"| {row['name']} | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} "
            f"| {row.get('cpu_p50_ms', '')} | {row['queries']} | {row['rows']} |"
        )
    return "\n".join(lines) + "\n"


def write_results(run_data: dict[str, Any]) -> None:
    out = benchenv.OUT / f"queue-{run_data['db']}-{benchenv.label(run_data['tickets'])}.json"
    out.write_text(json.dumps(run_data, indent=2) + "\n")
    sections: dict[str, str] = {}
    for path in sorted(benchenv.OUT.glob("queue-*.json")):
        data = json.loads(path.read_text())
        sections[path.stem] = section(data)
    body = "\n".join(sections[key] for key in sorted(sections))
    block = f"{START}\n{body}{END}"
    results_md = benchenv.BENCH / "RESULTS.md"
    text = results_md.read_text() if results_md.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        intro = (
            "\n## Agent desk: queue page\n\n"
            "`python bench/queue_bench.py --tickets N [--db postgres]` renders the desk's queue "
            "page in process against the seeded bench database (see `bench/queue_bench.py`). "
            f"Target: p99 < {TARGET_P99_MS:.0f} ms at 1M tickets on PostgreSQL. The section "
            "below is rewritten by every run (latest per database and size).\n\n"
        )
        text = text.rstrip("\n") + "\n" + intro + block + "\n"
    results_md.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--url", default=None, help="database URL (default: per --db and size)")
    args = parser.parse_args(argv)
    if args.url is None:
        args.url = benchenv.pg_url(args.tickets) if args.db == "postgres" else ""
    sys.path.insert(0, str(benchenv.ROOT / "src"))
    run_data = run(args)
    write_results(run_data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
