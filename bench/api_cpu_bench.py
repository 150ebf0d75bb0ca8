"""CPU of one API read request in the web process: ticket lists and search, in-process.

    python bench/api_cpu_bench.py [--db sqlite|postgres] [--tickets 20000] [--pg-url URL]
        [--requests 200] [--limit 25] [--only NAME] [--server] [--profile NAME]
        [--dump FILE]

Drives the real ASGI application (`helpline.asgi.application`: Django's handler, every
middleware, ninja, token auth, the rate limiter, the selectors, the JSON rendering) with
one request at a time from an event loop in this process (uvloop, as uvicorn), with bearer
tokens made by `integrations.services.token_create`, on a desk seeded by `bench/seed.py`
(seed it first with the same --tickets and database; --pg-url names the PostgreSQL
database, default `benchenv.pg_url`). For `GET /api/v1/categories` (the small reference
read of bench/run.py) and each of bench/run.py's list and search requests (with
`limit=--limit`) it prints the process CPU per request (`time.process_time`, every thread
of this process: the request's Python and, on SQLite, the database engine too) and the
wall time, p50 and mean; PostgreSQL's own CPU is not counted, nor HTTP parsing.

`--server` sends the same requests over HTTP to a real server instead (bench/run.py's:
uvicorn with one worker, and the Huey consumer) from one client, and prints the web
process's CPU per request from /proc, as bench/run.py's "CPU ms/req web" column (HTTP
parsing included). `--only NAME` runs the scenarios whose name contains NAME;
`--profile NAME` also runs cProfile over them (through Django's test client, in one thread)
and prints the top functions; `--dump FILE` writes each scenario's status, headers and body
(first and second page) as JSON, to compare two versions of the code byte for byte (run
the older one with PYTHONPATH pointing at its `src`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import benchenv


def log(message: str) -> None:
    print(message, flush=True)


class Asgi:
    """One HTTP request at a time through an ASGI application, as a server would send it."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def get(self, path: str, query: str, token: str) -> tuple[int, list[Any], bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", f"Bearer {token}".encode()),
                (b"accept", b"*/*"),
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
        }
        sent_body = False
        never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        messages: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return await never  # the client stays connected

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.application(scope, receive, send)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return start["status"], start["headers"], body


def scenarios(desk: Any, limit: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(name, token, path, query) of bench/run.py's list and search requests."""
    from run import SEARCHES, list_scenarios

    rows = [("baseline: GET /api/v1/categories", desk.admin_token, "/api/v1/categories", {})]
    rows += [
        (name, token, "/api/v1/tickets", params) for name, token, params in list_scenarios(desk)
    ]
    rows += [(name, desk.agent_token, "/api/v1/search", {"q": q}) for name, q in SEARCHES]
    return [
        (name, token, path, params if path.endswith("categories") else {**params, "limit": limit})
        for name, token, path, params in rows
    ]


async def measure(client: Asgi, token: str, path: str, query: str, n: int) -> dict[str, float]:
    cpu, wall = [], []
    for _ in range(n):
        began_cpu, began = time.process_time(), time.perf_counter()
        status, _headers, body = await client.get(path, query, token)
        cpu.append(time.process_time() - began_cpu)
        wall.append(time.perf_counter() - began)
        if status != 200:
            raise SystemExit(f"{path}?{query}: HTTP {status} {body[:300]!r}")
    return {
        "cpu_p50": statistics.median(cpu) * 1000,
        "cpu_mean": statistics.fmean(cpu) * 1000,
        "wall_p50": statistics.median(wall) * 1000,
        "wall_mean": statistics.fmean(wall) * 1000,
    }


def profile(path: str, query: str, token: str, args: argparse.Namespace) -> None:
    """cProfile `--requests` requests through Django's test client (the same middleware and
    view as the ASGI handler, in one thread, which cProfile needs)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"{path}?{query}"
    for _ in range(20):
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        client.get(url)
    profiler.disable()
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


async def dump(client: Asgi, rows: list[tuple[str, str, str, dict[str, Any]]]) -> dict[str, Any]:
    """Status, headers and body of each scenario's first and second page."""
    out: dict[str, Any] = {}
    for name, token, path, params in rows:
        pages = []
        query = urlencode(params, doseq=True)
        for _ in range(2):
            status, headers, body = await client.get(path, query, token)
            pages.append(
                {
                    "status": status,
                    "headers": sorted([k.decode(), v.decode()] for k, v in headers),
                    "body": body.decode(),  # the bytes as sent
                }
            )
            data = json.loads(body)
            cursor = data.get("next_cursor") if isinstance(data, dict) else None
            if not cursor:
                break
            query = urlencode({**params, "cursor": cursor}, doseq=True)
        out[name] = pages
    return out


def measure_server(
    rows: list[tuple[str, str, str, dict[str, Any]]], args: argparse.Namespace
) -> None:
    """`--server`: the same requests over HTTP to a real server (bench/run.py's: uvicorn,
    one worker, and the Huey consumer) from one client; the web process's CPU per request
    from /proc, as bench/run.py's "CPU ms/req web" column."""
    import run

    server = run.Server(workers=1, huey_workers=1)
    server.start()
    try:
        meter = run.CpuMeter(server, postgres=False)
        log(f"{'request':<48} {'web CPU ms/req':>14} {'p50 ms':>7}")
        for name, token, path, params in rows:
            if args.only not in name:
                continue

            def get(client: Any, i: int, path: str = path, params: Any = params) -> Any:
                return client.get(path, params=params)

            run.hammer("warm-up", server.url, token, get, total=20, clients=1)
            before = meter.sample()
            stats = run.hammer(name, server.url, token, get, total=args.requests, clients=1)
            cpu = run.CpuMeter.per_request(before, meter.sample(), args.requests)
            if stats.errors:
                raise SystemExit(f"{name}: errors {stats.errors}")
            log(f"{name:<48} {cpu['web']:14.2f} {stats.p50_ms:7.1f}")
    finally:
        server.stop()


async def main_async(args: argparse.Namespace, rows: list[Any]) -> None:
    from helpline.asgi import application

    client = Asgi(application)
    if args.dump:
        data = await dump(client, rows)
        with open(args.dump, "w") as file:
            json.dump(data, file, indent=1, ensure_ascii=False, sort_keys=True)
        log(f"wrote {args.dump}")
        return
    log(f"{'request':<48} {'CPU p50':>8} {'CPU mean':>9} {'wall p50':>9} {'wall mean':>10}  (ms)")
    for name, token, path, params in rows:
        if args.only not in name:
            continue
        query = urlencode(params, doseq=True)
        await measure(client, token, path, query, 20)  # warm-up
        if args.profile and args.profile in name:
            await asyncio.to_thread(profile, path, query, token, args)
        figures = await measure(client, token, path, query, args.requests)
        log(
            f"{name:<48} {figures['cpu_p50']:8.2f} {figures['cpu_mean']:9.2f} "
            f"{figures['wall_p50']:9.2f} {figures['wall_mean']:10.2f}"
        )


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=20_000, help="size of the seeded desk")
    parser.add_argument("--pg-url", default="", help="PostgreSQL URL (default per size)")
    parser.add_argument("--requests", type=int, default=200, help="per scenario")
    parser.add_argument("--limit", type=int, default=25, help="page size")
    parser.add_argument("--server", action="store_true", help="measure a real server (HTTP)")
    parser.add_argument("--only", default="", help="run the scenarios whose name has this")
    parser.add_argument("--profile", default="", help="cProfile the scenarios matching this")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--top", type=int, default=45, help="cProfile lines")
    parser.add_argument("--dump", default="", help="write the responses to this JSON file")
    args = parser.parse_args(argv)
    url = "" if args.db == "sqlite" else (args.pg_url or benchenv.pg_url(args.tickets))
    kind = benchenv.configure(url, args.tickets)
    if not (benchenv.data_dir() / "seed.json").exists():
        raise SystemExit(f"seed the desk first: bench/seed.py --tickets {args.tickets} ({kind})")
    # as bench/run.py's server: the limiter counts but never refuses
    os.environ["HELPLINE_API_RATE_LIMIT"] = "100000000/60"
    import django

    django.setup()
    import run
    from django.db import connections

    rows = scenarios(run.prepare_desk(), args.limit)
    connections.close_all()
    if args.server:
        measure_server(rows, args)
        return
    try:
        import uvloop  # what uvicorn runs on when it is installed
    except ImportError:
        asyncio.run(main_async(args, rows))
    else:
        uvloop.run(main_async(args, rows))


if __name__ == "__main__":
    sys.path.insert(0, str(benchenv.BENCH))
    main(sys.argv[1:])
