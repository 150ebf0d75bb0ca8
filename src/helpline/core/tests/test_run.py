"""Smoke test: `helpline run` sets up a fresh desk, serves it, runs its tasks, stops on Ctrl-C."""

from __future__ import annotations

import gc
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpline.core.management.consumer import create_consumer
from helpline.core.tests.clitools import child_env

DEADLINE_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status
    except OSError:
        return None


def undispatched_events(database: Path) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT COUNT(*) FROM core_outboxevent WHERE dispatched_at IS NULL")
        return row.fetchone()[0]


@pytest.mark.slow
def test_run_serves_a_fresh_desk_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "helpline.cli", "run", "--port", str(port)],
            env=child_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # When the server answers, the desk was migrated and the demo loaded.
            deadline = time.monotonic() + DEADLINE_SECONDS
            url = f"http://127.0.0.1:{port}/api/v1/openapi.json"
            while http_status(url) != 200:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            output = log_path.read_text()
            assert f"Helpline is running at http://127.0.0.1:{port}" in output
            assert "admin@helpline.example" in output
            # The in-process consumer dispatches every event the demo emitted.
            while undispatched_events(tmp_path / "helpline.sqlite3"):
                assert time.monotonic() < deadline, "events were not dispatched"
                time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGINT)
            returncode = process.wait(timeout=20)
    output = log_path.read_text()
    assert returncode == 0, output
    assert "Helpline stopped." in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_worker_consumes_alone_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    migrated = subprocess.run(
        [sys.executable, "-m", "helpline.cli", "migrate"],
        env=child_env(tmp_path),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpline.cli", "worker", "--workers", "1"],
            env=child_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while "Task consumer: 1 thread(s)" not in log_path.read_text():
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGINT)
            returncode = process.wait(timeout=20)
    output = log_path.read_text()
    assert returncode == 0, output
    assert "Traceback" not in output


def test_a_consumer_leaves_start_up_objects_out_of_full_collections() -> None:
    gc.unfreeze()
    try:
        consumer = create_consumer(workers=1, periodic=False, embedded=True)
        assert consumer.workers == 1
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
