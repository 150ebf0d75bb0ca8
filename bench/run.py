"""Benchmark the API on a seeded desk: ticket creation, ticket lists and search.

    python bench/run.py [--db sqlite|postgres|both] [--tickets N] [--clients C] [--requests R]

For each database: seed N tickets unless bench/out/<db>-<size>/seed.json says that is done
(`--reseed` forces it), start the real server (uvicorn on a free loopback port plus the Huey
consumer, as `helpline run` does), create API tokens, then measure with C concurrent HTTP
clients: POST /api/v1/tickets (throughput, p50/p99), POST /api/v1/tickets/bulk (batches of
--bulk-size tickets; tickets/s, p50/p99 per request) and how fast the Huey consumer dispatches
the events of those tickets, ticket lists (agent queue, admin open tickets, customer's own) and
search (Russian word form, Chinese substring, English word), both with one client (latency)
and with C clients (under load); `--only-create` skips the lists and search, `--only-read`
the creation (so that no event backlog competes with the reads). The database
time of the same list and search queries is measured in-process for comparison. Figures are
printed and the latest per database and size go into bench/RESULTS.md (between the markers)
and bench/results.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchenv
import httpx
from texts import TextPool

RESULTS_MD = benchenv.BENCH / "RESULTS.md"
RESULTS_JSON = benchenv.BENCH / "results.json"
START, END = "<!-- results:start -->", "<!-- results:end -->"
TARGET_READ_P99_MS = 100.0
TARGET_CREATE_PER_S = 300.0


def log(message: str) -> None:
    print(message, flush=True)


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Stats:
    name: str
    clients: int
    requests: int
    ok: int
    errors: dict[str, int]
    seconds: float
    per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    db_p50_ms: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


Request = Callable[[httpx.Client, int], httpx.Response]


def hammer(
    name: str, base_url: str, token: str, request: Request, *, total: int, clients: int
) -> Stats:
    """Send `total` requests from `clients` threads (keep-alive each); time every one."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    counter = itertools.count()
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}

    def worker() -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            while (i := next(counter)) < total:
                began = time.perf_counter()
                try:
                    response = request(client, i)
                    failed = None if response.status_code < 300 else str(response.status_code)
                    if failed and failed not in errors:
                        log(f"    {name}: HTTP {response.status_code} {response.text[:300]}")
                except httpx.HTTPError as exc:
                    failed = type(exc).__name__
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed)
                    if failed:
                        errors[failed] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    ordered = sorted(latencies)
    ok = len(ordered) - sum(errors.values())
    return Stats(
        name=name,
        clients=clients,
        requests=len(ordered),
        ok=ok,
        errors=dict(errors),
        seconds=round(seconds, 2),
        per_second=round(ok / seconds, 1),
        p50_ms=round(percentile(ordered, 0.50) * 1000, 1),
        p90_ms=round(percentile(ordered, 0.90) * 1000, 1),
        p99_ms=round(percentile(ordered, 0.99) * 1000, 1),
        max_ms=round(ordered[-1] * 1000, 1) if ordered else float("nan"),
    )


def db_time(run: Callable[[], Any], repeat: int = 15) -> float:
    """Median milliseconds of `run()` in this process (the database part of a request)."""
    run()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append(time.perf_counter() - began)
    return round(statistics.median(samples) * 1000, 1)


# --- CPU accounting ------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU seconds) of every process we can read."""
    rows = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        rows.append(
            (int(entry.name), int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK)
        )
    return rows


class CpuMeter:
    """CPU seconds used by the web server, the task consumer, PostgreSQL and this process."""

    def __init__(self, server: Server, postgres: bool) -> None:
        self.server = server
        self.postgres = postgres

    def sample(self) -> dict[str, float]:
        rows = _proc_stats()
        children: dict[int, list[int]] = {}
        for pid, ppid, _name, _cpu in rows:
            children.setdefault(ppid, []).append(pid)
        cpu_of = {pid: cpu for pid, _ppid, _name, cpu in rows}

        def tree(root: int) -> float:
            total, stack = 0.0, [root]
            while stack:
                pid = stack.pop()
                total += cpu_of.get(pid, 0.0)
                stack += children.get(pid, [])
            return total

        web, consumer = (process.pid for process in self.server.processes)
        pg = sum(cpu for _pid, _ppid, name, cpu in rows if name == "postgres")
        return {
            "web": tree(web),
            "consumer": tree(consumer),
            "postgres": pg if self.postgres else 0.0,
            "client": time.process_time(),
            "machine": machine_busy(),
            "wall": time.monotonic(),
        }

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
        ours = ("web", "consumer", "postgres", "client")
        return {key: round((after[key] - before[key]) * 1000 / max(n, 1), 2) for key in ours}

    @staticmethod
    def other_load(before: dict[str, float], after: dict[str, float]) -> float:
        """Cores busy with processes that are not part of the benchmark, on average."""
        ours = sum(after[key] - before[key] for key in ("web", "consumer", "postgres", "client"))
        busy = after["machine"] - before["machine"]
        return round(max(0.0, busy - ours) / max(after["wall"] - before["wall"], 1e-9), 2)


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


def wait_quiet(meter: CpuMeter, limit: float = 0.3, timeout: float = 30) -> float:
    """Wait (up to `timeout`) until other processes use less than `limit` cores."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = meter.sample()
        time.sleep(2)
        load = CpuMeter.other_load(before, meter.sample())
        if load < limit:
            return load
    log(f"  the machine is busy with other work ({load} cores); measuring anyway")
    return load


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """uvicorn (N workers) and the Huey consumer, in their own process groups."""

    def __init__(self, workers: int, huey_workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.huey_workers = huey_workers
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_path = benchenv.data_dir() / "server.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HELPLINE_API_RATE_LIMIT"] = "100000000/60"
        env["HELPLINE_WORKERS"] = str(self.huey_workers)
        env["HELPLINE_LOG_LEVEL"] = "WARNING"
        # Persistent connections leak under ASGI (a new thread per request, one connection
        # each, kept for CONN_MAX_AGE): with the default of 60 s PostgreSQL runs out of
        # connections ("too many clients") within a minute of load. Django's advice for ASGI
        # is no persistent connections (or psycopg's pool, which is not installed).
        env["HELPLINE_DB_CONN_MAX_AGE"] = os.environ.get("HELPLINE_DB_CONN_MAX_AGE", "0")
        return env

    def commands(self) -> list[list[str]]:
        web = [
            sys.executable, "-m", "uvicorn", "helpline.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        consumer = [sys.executable, "-m", "django", "run_huey"]
        return [web, consumer]

    def start(self) -> None:
        output = self.log_path.open("ab")
        for command in self.commands():
            log(f"  starting: {shlex.join(command[1:])}")
            self.processes.append(
                subprocess.Popen(
                    command,
                    env=self.env(),
                    cwd=benchenv.ROOT,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if any(process.poll() is not None for process in self.processes):
                break
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"server did not start; see {self.log_path}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


# --- the desk's actors and scenarios -------------------------------------------------------


@dataclass
class Desk:
    admin_token: str
    agent_token: str
    customer_token: str
    queue_team: int
    requesters: list[int]
    agent: Any
    admin: Any
    customer: Any


def prepare_desk() -> Desk:
    from helpline.accounts.models import Role, Team, User
    from helpline.integrations.services import token_create
    from helpline.tickets.models import Ticket

    admin = User.objects.get(email="admin@bench.test")
    team = Team.objects.get(name="L2 Support")
    agent = team.members.order_by("pk").first()
    # A customer of an organization with an average number of tickets.
    middle = Ticket.objects.filter(organization__isnull=False).order_by("pk")
    customer = middle[middle.count() // 2].requester
    requesters = list(
        User.objects.filter(role=Role.CUSTOMER).order_by("?").values_list("pk", flat=True)[:500]
    )
    stamp = datetime.now(UTC).strftime("%H%M%S")

    def token(user: Any, scopes: list[str]) -> str:
        return token_create(actor=None, user=user, name=f"bench {stamp}", scopes=scopes)[1]

    return Desk(
        admin_token=token(
            admin, ["tickets:read", "tickets:write", "search:read", "categories:read"]
        ),
        agent_token=token(agent, ["tickets:read", "tickets:write", "search:read"]),
        customer_token=token(customer, ["tickets:read"]),
        queue_team=team.pk,
        requesters=requesters,
        agent=agent,
        admin=admin,
        customer=customer,
    )


ACTIVE = ["new", "open", "pending_customer", "pending_third_party", "on_hold"]
SEARCHES = [
    ("search: Russian word form", "принтером"),
    ("search: Chinese substring", "电子发票"),
    ("search: English word", "refund"),
]


def list_scenarios(desk: Desk) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, token, query params) of the typical list requests."""
    return [
        (
            "list: agent queue (team+status, -updated_at)",
            desk.agent_token,
            {"team": desk.queue_team, "status": ["new", "open"], "sort": "-updated_at"},
        ),
        ("list: admin all open", desk.admin_token, {"status": ACTIVE, "sort": "-updated_at"}),
        ("list: customer own", desk.customer_token, {}),
    ]


def db_list_time(actor: Any, params: dict[str, Any]) -> float:
    from helpline.tickets.selectors import TicketFilters, ticket_list

    status = params.get("status", [])
    filters = TicketFilters(status=status, team=params.get("team"), q=params.get("q", ""))

    def run() -> Any:
        return list(ticket_list(actor=actor, filters=filters).order_by("-updated_at", "-id")[:51])

    return db_time(run)


def db_create_time(desk: Desk, pool: TextPool, rng: random.Random) -> float:
    """The service alone: `ticket_create` in this process (events queued, not dispatched)."""
    from helpline.accounts.models import User
    from helpline.tickets import services

    requesters = list(User.objects.filter(pk__in=desk.requesters[:50]))

    def run() -> Any:
        language = pool.language()
        return services.ticket_create(
            actor=desk.admin,
            subject=pool.subject(language),
            body=pool.message(language),
            requester=rng.choice(requesters),
            channel="api",
        )

    return db_time(run)


def db_search_time(actor: Any, query: str) -> float:
    """The search page's query alone: the first page of `ticket_list` with `q`."""
    return db_list_time(actor, {"q": query})


# --- one database --------------------------------------------------------------------------


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    url = "" if args.db == "sqlite" else (args.pg_url or benchenv.pg_url(args.tickets))
    kind = benchenv.configure(url, args.tickets)
    seed_file = benchenv.data_dir() / "seed.json"
    seeded = json.loads(seed_file.read_text()) if seed_file.exists() else {}
    if args.reseed or seeded.get("tickets") != args.tickets:
        log(f"== seeding {kind} with {args.tickets:,} tickets")
        subprocess.run(
            [sys.executable, str(benchenv.BENCH / "seed.py"), "--tickets", str(args.tickets)],
            check=True,
            env=dict(os.environ),
        )
        seeded = json.loads(seed_file.read_text())
    if seeded.get("search_index_seconds") is None:
        log("== building the search index of the seeded database")
        command = [sys.executable, str(benchenv.BENCH / "seed.py"), "--index-only"]
        subprocess.run([*command, "--tickets", str(args.tickets)], check=True)
        seeded = json.loads(seed_file.read_text())
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from helpline.tickets.models import Ticket

    call_command("migrate", verbosity=0)  # a database seeded by an older checkout
    desk = prepare_desk()
    workers = args.workers or (1 if kind == "sqlite" else 2)
    server = Server(workers, args.huey_workers)
    log(f"== {kind}: {Ticket.objects.count():,} tickets; {workers} uvicorn worker(s)")
    server.start()
    results: list[Stats] = []
    try:
        results += measure(server, desk, args)
    finally:
        server.stop()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version")
        db_version = cursor.fetchone()[0]
    return {
        "key": f"{kind}-{benchenv.label(args.tickets)}",
        "db": kind,
        "db_version": db_version,
        "tickets": args.tickets,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": args.command,
        "server": f"uvicorn --workers {workers} + Huey consumer ({args.huey_workers} threads)",
        "machine": machine(),
        "seed": seeded,
        "results": [asdict(stats) for stats in results],
    }


def queue_length() -> int:
    from huey.contrib.djhuey import HUEY

    return int(HUEY.pending_count())


def wait_for_queue(timeout: float = 300) -> float:
    """Wait until the Huey consumer has run every queued task; return the seconds waited."""
    from huey.contrib.djhuey import HUEY

    began = time.perf_counter()
    while HUEY.pending_count() and time.perf_counter() - began < timeout:
        time.sleep(0.5)
    return round(time.perf_counter() - began, 1)


def measure(server: Server, desk: Desk, args: argparse.Namespace) -> list[Stats]:
    base = server.url
    meter = CpuMeter(server, postgres=args.db == "postgres")
    results: list[Stats] = []
    pool = TextPool(random.Random(7))
    rng = random.Random(11)
    clients, total = args.clients, args.requests
    since = last_event_id()

    def create(client: httpx.Client, i: int) -> httpx.Response:
        language = pool.language()
        return client.post(
            "/api/v1/tickets",
            json={
                "subject": pool.subject(language),
                "body": pool.message(language),
                "requester_id": rng.choice(desk.requesters),
                "priority": rng.choice(["low", "normal", "normal", "high"]),
                "channel": "api",
            },
        )

    def timed(
        name: str, token: str, request: Request, *, total: int, clients: int, per: int = 1
    ) -> Stats:
        """`per`: tickets per request (CPU is then given per ticket)."""
        quiet_began = time.perf_counter()
        wait_quiet(meter)
        quiet_seconds = time.perf_counter() - quiet_began
        before = meter.sample()
        stats = hammer(name, base, token, request, total=total, clients=clients)
        after = meter.sample()
        stats.extra["cpu_ms_per_request"] = CpuMeter.per_request(before, after, total * per)
        stats.extra["other_load_cores"] = CpuMeter.other_load(before, after)
        stats.extra["quiet_wait_seconds"] = round(quiet_seconds, 2)
        return stats

    def show(stats: Stats) -> None:
        results.append(stats)
        cpu = stats.extra.get("cpu_ms_per_request", {})
        log(
            f"  {stats.name:<46} c={stats.clients:<2} n={stats.requests:<5} "
            f"{stats.per_second:>7.1f}/s  p50 {stats.p50_ms:>6.1f}  p99 {stats.p99_ms:>6.1f} ms"
            f"  DB {stats.db_p50_ms or '-'}  CPU/req {cpu}"
            f"  other load {stats.extra.get('other_load_cores')}  errors {stats.errors or '-'}"
        )

    def categories(client: httpx.Client, i: int) -> httpx.Response:
        return client.get("/api/v1/categories")

    log("== baseline: a small authenticated read (HTTP, auth, rate limit, 13 rows)")
    hammer("warm-up", base, desk.admin_token, categories, total=20, clients=2)
    for count in sorted({1, clients}):
        show(timed("baseline: GET /api/v1/categories", desk.admin_token, categories,
                   total=args.read_requests, clients=count))  # fmt: skip
    if not args.only_read:
        log("== warm-up")
        hammer("warm-up", base, desk.admin_token, create, total=20, clients=2)
        log("== ticket creation")
        pending = queue_length()
        before_all = meter.sample()
        show(timed("create: POST /api/v1/tickets", desk.admin_token, create,
                   total=total, clients=clients))  # fmt: skip
        results[-1].extra["queued_tasks"] = queue_length() - pending
        drained = wait_for_queue()
        results[-1].extra["queue_drain_seconds"] = drained
        results[-1].extra["cpu_ms_per_ticket_incl_drain"] = CpuMeter.per_request(
            before_all, meter.sample(), total
        )
        results[-1].db_p50_ms = db_create_time(desk, pool, rng)
        log(f"  task queue drained {drained} s after the last create")
        measure_bulk(desk, args, timed, show, meter, pool, rng, since=since)
    if args.only_create:
        return results
    read_total = args.read_requests
    log("== ticket lists and search")
    scenarios = [
        (name, token, "/api/v1/tickets", params) for name, token, params in list_scenarios(desk)
    ]
    scenarios += [(name, desk.agent_token, "/api/v1/search", {"q": q}) for name, q in SEARCHES]
    actors = {desk.agent_token: desk.agent, desk.admin_token: desk.admin}
    actors[desk.customer_token] = desk.customer
    for name, token, path, params in scenarios:

        def get(client: httpx.Client, i: int, path: str = path, params: Any = params) -> Any:
            return client.get(path, params=params)

        hammer(name, base, token, get, total=5, clients=1)
        for count in sorted({1, clients}):
            stats = timed(name, token, get, total=read_total, clients=count)
            actor = actors[token]
            if path.endswith("/search"):
                stats.db_p50_ms = db_search_time(actor, params["q"])
            else:
                stats.db_p50_ms = db_list_time(actor, params)
            show(stats)
    return results


def last_event_id() -> int:
    from helpline.core.models import OutboxEvent

    return OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def wait_for_dispatch(after_id: int, timeout: float = 900) -> tuple[float, int]:
    """Wait until every event after `after_id` (those of the created tickets and what their
    receivers emitted) is dispatched. The time.perf_counter() when that was seen, and how
    many `ticket.created` events were still waiting then (0 unless `timeout` ran out)."""
    from helpline.core.models import OutboxEvent

    pending = OutboxEvent.objects.filter(pk__gt=after_id, dispatched_at__isnull=True)
    began = time.perf_counter()
    while pending.exists() and time.perf_counter() - began < timeout:
        time.sleep(0.1)
    return time.perf_counter(), pending.filter(type="ticket.created").count()


def measure_bulk(
    desk: Desk,
    args: argparse.Namespace,
    timed: Callable[..., Stats],
    show: Callable[[Stats], None],
    meter: CpuMeter,
    pool: TextPool,
    rng: random.Random,
    *,
    since: int,
) -> None:
    """POST /api/v1/tickets/bulk with batches of `--bulk-size` tickets from C clients, then
    the time until the consumer has dispatched every event those tickets produced."""
    size, clients = args.bulk_size, args.clients
    requests = max(1, args.bulk_tickets // size)
    tickets = requests * size

    def create_bulk(client: httpx.Client, i: int) -> httpx.Response:
        items = []
        for _ in range(size):
            language = pool.language()
            items.append(
                {
                    "subject": pool.subject(language),
                    "body": pool.message(language),
                    "requester_id": rng.choice(desk.requesters),
                    "priority": rng.choice(["low", "normal", "normal", "high"]),
                    "channel": "api",
                }
            )
        return client.post("/api/v1/tickets/bulk", json={"tickets": items})

    log(f"== bulk ticket creation: {requests} requests of {size} tickets")
    hammer("warm-up", meter.server.url, desk.admin_token, create_bulk, total=2, clients=2)
    wait_for_dispatch(since, timeout=300)  # the earlier creations' events first
    first_id = last_event_id()
    before = meter.sample()
    began = time.perf_counter()
    stats = timed(
        f"create bulk: POST /api/v1/tickets/bulk, {size} per request",
        desk.admin_token, create_bulk, total=requests, clients=clients, per=size,
    )  # fmt: skip
    http_seconds = stats.seconds
    # the row's rate in tickets/s (requests/s times the batch size)
    stats.per_second = round(stats.ok * size / http_seconds, 1)
    stats.extra["requests_per_second"] = round(stats.ok / http_seconds, 1)
    show(stats)
    done, left = wait_for_dispatch(first_id)
    after = meter.sample()
    # wait_quiet() inside timed() ran between `began` and the first request
    seconds = done - began - (stats.extra.get("quiet_wait_seconds") or 0.0)
    drain = Stats(
        name="dispatch: ticket.created of the bulk tickets (Huey consumer, end to end)",
        clients=args.huey_workers,
        requests=tickets,
        ok=tickets - left,
        errors={"not dispatched in time": left} if left else {},
        seconds=round(seconds, 2),
        per_second=round((tickets - left) / seconds, 1),
        p50_ms=float("nan"),
        p90_ms=float("nan"),
        p99_ms=float("nan"),
        max_ms=float("nan"),
        note=f"all events dispatched {round(seconds - http_seconds, 1)} s after the last request",
    )
    drain.extra["cpu_ms_per_request"] = CpuMeter.per_request(before, after, tickets - left)
    drain.extra["other_load_cores"] = CpuMeter.other_load(before, after)
    show(drain)
    log(f"  {tickets} tickets: created in {http_seconds} s, events dispatched after "
        f"{drain.seconds} s ({drain.note}; {left} not dispatched)")  # fmt: skip


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(int(memory) / 1024 / 1024),
        "python": platform.python_version(),
    }


# --- report --------------------------------------------------------------------------------


def render(entry: dict[str, Any]) -> str:
    seed = entry["seed"]
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[entry["db"]]
    indexed = seed.get("search_index_seconds")
    search_index = "not built (helpline.core.search missing)" if indexed is None else f"{indexed} s"
    lines = [
        f"### {name} {entry['db_version']}, {entry['tickets']:,} tickets",
        "",
        f"- date: {entry['date']}; machine: {entry['machine']['cores']} cores "
        f"({entry['machine']['cpu']}), {entry['machine']['memory_gb']} GB, "
        f"Python {entry['machine']['python']}",
        f"- command: `{entry['command']}`",
        f"- server: {entry['server']}; clients on the same machine",
        f"- data: {seed['tickets']:,} tickets, {seed['messages']:,} messages, "
        f"{seed['customers']:,} customers; seeded in {seed['load_seconds']} s "
        f"+ indexes {seed['index_seconds']} s + search index {search_index}",
        "",
        "| measurement | clients | requests | errors | req/s | p50 ms | p90 ms | p99 ms "
        "| DB p50 ms | CPU ms/req web+tasks+db+client | other load | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for row in entry["results"]:
        p50, p90, p99 = (_ms(row[key]) for key in ("p50_ms", "p90_ms", "p99_ms"))
        lines.append(
            f"| {row['name']} | {row['clients']} | {row['requests']} "
            f"| {sum(row['errors'].values())} | {row['per_second']} | {p50} "
            f"| {p90} | {p99} | {row['db_p50_ms'] or '-'} "
            f"| {cpu_cell(row)} | {row.get('extra', {}).get('other_load_cores', '-')} "
            f"| {verdict(entry, row)} |"
        )
    return "\n".join(lines) + "\n"


def _ms(value: Any) -> str:
    return "-" if value is None or value != value else str(value)  # NaN: not measured


def cpu_cell(row: dict[str, Any]) -> str:
    cpu = row.get("extra", {}).get("cpu_ms_per_request")
    if not cpu:
        return "-"
    return f"{cpu['web']}+{cpu['consumer']}+{cpu['postgres']}+{cpu['client']}"


def verdict(entry: dict[str, Any], row: dict[str, Any]) -> str:
    if row["errors"]:
        return f"FAILED: {sum(row['errors'].values())} errors {row['errors']}"
    if row["name"].startswith("baseline"):
        return "reference"
    if row["name"].startswith(("create", "dispatch")):
        ok = row["per_second"] >= TARGET_CREATE_PER_S and not row["errors"]
        return f"{'met' if ok else 'MISSED'} (>= {TARGET_CREATE_PER_S:.0f}/s)"
    if entry["db"] == "postgres" and entry["tickets"] >= 1_000_000:
        ok = row["p99_ms"] < TARGET_READ_P99_MS and not row["errors"]
        return f"{'met' if ok else 'MISSED'} (p99 < {TARGET_READ_P99_MS:.0f} ms)"
    return f"(p99 {'<' if row['p99_ms'] < TARGET_READ_P99_MS else '>='} 100 ms)"


def write_report(entries: list[dict[str, Any]]) -> None:
    stored = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    for entry in entries:
        stored[entry["key"]] = entry
    RESULTS_JSON.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")
    order = sorted(stored.values(), key=lambda e: (e["db"] != "postgres", -e["tickets"]))
    block = "\n".join(render(entry) for entry in order)
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    RESULTS_MD.write_text(f"{head}{START}\n{block}{END}{tail}")
    log(f"== wrote {RESULTS_MD.relative_to(benchenv.ROOT)}")


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--requests", type=int, default=2000, help="tickets to create")
    parser.add_argument("--bulk-tickets", type=int, default=5000, help="tickets to bulk-create")
    parser.add_argument("--bulk-size", type=int, default=50, help="tickets per bulk request")
    parser.add_argument("--only-create", action="store_true", help="skip lists and search")
    parser.add_argument(
        "--only-read", action="store_true", help="skip creation: lists and search on a quiet desk"
    )
    parser.add_argument("--read-requests", type=int, default=300, help="per list/search case")
    parser.add_argument("--workers", type=int, default=0, help="uvicorn workers (0: per DB)")
    parser.add_argument("--huey-workers", type=int, default=2)
    parser.add_argument("--pg-url", default="", help="PostgreSQL URL (default per size)")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        args.command = os.environ["HELPLINE_BENCH_COMMAND"]
        entry = run_one(args)
        (benchenv.data_dir() / "results.json").write_text(json.dumps(entry, indent=2))
        return
    command = shlex.join(["python", "bench/run.py", *argv])
    entries = []
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        # One process per database: Django's settings are fixed once a process sets them up.
        child = [sys.executable, __file__, *argv, "--db", db, "--one"]
        env = dict(os.environ, HELPLINE_BENCH_COMMAND=command)
        subprocess.run(child, check=True, env=env)
        url = "" if db == "sqlite" else (args.pg_url or benchenv.pg_url(args.tickets))
        benchenv.configure(url, args.tickets)
        entries.append(json.loads((benchenv.data_dir() / "results.json").read_text()))
    write_report(entries)
    for entry in entries:
        log(render(entry))


if __name__ == "__main__":
    main(sys.argv[1:])
