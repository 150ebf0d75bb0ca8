"""Inbound mail ingest rate: the mail corpus replayed N times through the full pipeline.

    python bench/mail_bench.py                  # SQLite (bench/out/mail-sqlite/)
    python bench/mail_bench.py --url postgres://postgres@127.0.0.1:5432/helpline_bench_mail

The database is dropped, recreated and migrated. Each round gives every corpus message a
fresh Message-ID (else the second round would be deduplicated). The messages are received
the way an IMAP poll receives them, `mail.services.receive_many` per batch (raw stored, one
`process_pending` task queued), then processed the way the worker runs those tasks,
`mail.services.process_pending` (parse, thread, customer, ticket or reply, attachments,
audit, outbox events; their dispatch tasks stay queued unless --dispatch): the first ones
find a backlog and process it in batches, the others find nothing. `--one-by-one` takes the
per-message path of the SMTP/LMTP intake and the HTTP endpoint instead (`receive` per
message, each queueing a `process_pending` task). The same
bytes are parsed with bare `email.message_from_bytes` for the reference rate; the ratio
pipeline/bare is the figure (target >= 1/5), by wall clock and by CPU time of this process
(the PostgreSQL server's CPU is not in it). Results are printed and written between the
mail-bench markers of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import email
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import benchenv

CORPUS = benchenv.ROOT.parent / "shared" / "corpus" / "mail"
NOT_MESSAGES = {"SOURCES.md", "README.md", ".gitattributes"}
MESSAGE_ID = re.compile(rb"^message-id:", re.IGNORECASE | re.MULTILINE)
START, END = "<!-- mail-bench:start -->", "<!-- mail-bench:end -->"


def corpus() -> list[bytes]:
    root = Path(os.environ.get("HELPLINE_MAIL_CORPUS", CORPUS))
    return [
        path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.name not in NOT_MESSAGES
        and not {"files", "attachments"} & set(path.relative_to(root).parts[:-1])
    ]


def fresh_id(raw: bytes, tag: str) -> bytes:
    """The message with a new Message-ID (the old one kept under another name)."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    head = MESSAGE_ID.sub(b"X-Original-Message-ID:", head)
    return f"Message-ID: <{tag}@bench.invalid>\r\n".encode() + head + sep + body


def bare_rate(messages: list[bytes]) -> tuple[float, float]:
    """Messages per second of bare parsing, by wall clock and by CPU time (best of 3)."""
    best = best_cpu = float("inf")
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        for raw in messages:
            email.message_from_bytes(raw)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(messages) / best, len(messages) / max(best_cpu, 1e-9)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default="", help='Database URL ("" for SQLite).')
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--dispatch",
        action="store_true",
        help="Also run the domain events' receivers (SLA, notifications...) inline.",
    )
    parser.add_argument(
        "--profile", default="", help="Write a cProfile of the pipeline to this file."
    )
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="Receive and process each message alone (the intake and HTTP path).",
    )
    args = parser.parse_args(argv)
    kind = benchenv.configure(args.url, 0)
    directory = benchenv.OUT / f"mail-{kind}"
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["HELPLINE_DATA_DIR"] = str(directory)
    os.environ["HELPLINE_TASKS_IMMEDIATE"] = "1" if args.dispatch else "0"
    # The per-sender limit is checked, set high: the corpus replayed N times comes from the
    # same senders.
    os.environ["HELPLINE_MAIL_SENDER_RATE"] = "1000000/3600"
    os.environ["HELPLINE_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    benchenv.recreate_database()

    import django

    django.setup()
    from django.core.management import call_command
    from django.urls import reverse

    from helpline.core.management.consumer import settle_process
    from helpline.mail.models import InboundEmail, Mailbox
    from helpline.mail.services import (
        BATCH_SIZE,
        PENDING_LIMIT,
        process_pending,
        receive,
        receive_many,
    )
    from helpline.tickets.models import Message

    call_command("migrate", verbosity=0)
    messages = corpus()
    if not messages:
        raise SystemExit(f"no mail corpus at {CORPUS}")
    rounds = [
        [fresh_id(raw, f"r{r}-m{i}") for i, raw in enumerate(messages)] for r in range(args.rounds)
    ]
    every = [raw for batch in rounds for raw in batch]
    mailbox = Mailbox.objects.create(address="support@bench.invalid")
    # A worker that has run before has its URL configuration loaded (messages with inline
    # images link to them); bare parsing is timed warm too.
    reverse("mail:inline", args=[1])
    settle_process()  # as the worker does after start-up
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    queued = 0  # the processing tasks the ways in queue
    if args.one_by_one:
        for raw in every:
            queued += receive(mailbox=mailbox, raw_bytes=raw, source="bench")[1]
    else:
        for start in range(0, len(every), BATCH_SIZE):
            results = receive_many(
                mailbox=mailbox, raws=every[start : start + BATCH_SIZE], source="bench"
            )
            queued += -(-sum(created for _row, created in results) // PENDING_LIMIT)
    if not args.dispatch:
        # What the worker does with the queued processing tasks; the events' dispatch
        # tasks it enqueues stay queued (they are the SLA, notification... receivers).
        for _task in range(queued):
            process_pending()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    pipeline = len(every) / elapsed
    pipeline_cpu = len(every) / max(cpu, 1e-9)
    bare, bare_cpu = bare_rate(every)
    load = os.getloadavg()[0]
    states: dict[str, int] = {}
    for state in InboundEmail.objects.values_list("state", flat=True):
        states[state] = states.get(state, 0) + 1
    result = {
        "db": kind
        + (" one by one" if args.one_by_one else "")
        + (" + dispatch" if args.dispatch else ""),
        "messages": len(every),
        "rounds": args.rounds,
        "pipeline_msg_s": round(pipeline, 1),
        "bare_parse_msg_s": round(bare, 1),
        "ratio": round(pipeline / bare, 6),
        "pipeline_cpu_msg_s": round(pipeline_cpu, 1),
        "bare_parse_cpu_msg_s": round(bare_cpu, 1),
        "cpu_ratio": round(pipeline_cpu / bare_cpu, 6),
        "load": round(load, 1),
        "states": states,
        "ticket_messages": Message.objects.count(),
        "megabytes": round(sum(len(raw) for raw in every) / 1e6, 1),
    }
    print(
        f"{result['db']}: {len(every)} messages ({result['megabytes']} MB), "
        f"pipeline {pipeline:.1f} msg/s, bare parsing {bare:.1f} msg/s, "
        f"ratio 1/{bare / pipeline:.1f} ({result['ratio']}); by CPU time (this process) "
        f"{pipeline_cpu:.1f} vs {bare_cpu:.1f} msg/s, ratio 1/{bare_cpu / pipeline_cpu:.1f}; "
        f"load average {load:.1f}; states {states}"
    )
    write_results(result)
    return result


def write_results(result: dict[str, Any]) -> None:
    path = benchenv.BENCH / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    rows: dict[str, str] = {}
    if START in text:
        before, _sep, rest = text.partition(START)
        section, _sep, after = rest.partition(END)
        for line in section.splitlines():
            if line.startswith(("| sqlite", "| postgres")):
                rows[line.split("|")[1].strip()] = line
    else:
        before, after = text.rstrip() + "\n\n## Inbound mail ingest (bench/mail_bench.py)\n\n", ""
    rows[result["db"]] = (
        f"| {result['db']} | {result['messages']} | {result['pipeline_msg_s']} | "
        f"{result['bare_parse_msg_s']} | 1/{1 / result['ratio']:.1f} | "
        f"1/{1 / result['cpu_ratio']:.1f} | {result['load']} | {result['states']} |"
    )
    table = "\n".join(
        [
            "| db | messages | pipeline msg/s | bare parse msg/s | ratio (wall) | ratio (CPU) "
            "| load avg | outcome |",
            "|---|---|---|---|---|---|---|---|",
            *[rows[key] for key in sorted(rows)],
        ]
    )
    path.write_text(f"{before}{START}\n{table}\n{END}{after or chr(10)}")


if __name__ == "__main__":
    sys.path.insert(0, str(benchenv.ROOT / "src"))
    main()
