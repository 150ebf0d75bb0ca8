"""The crash test with the real pieces: `helpline mail poll` stores a dovecot mailbox's
messages and queues their processing; `helpline worker` (the Huey consumer, SQLite queue)
is killed in the middle of a batch and started again; with no one replaying anything by
hand, every message becomes a ticket message exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from helpline.mail.models import InboundEmail
from helpline.tickets.models import Message, Ticket

from . import peers
from .conftest import build_email, database_url, imap_mailbox

TOTAL = 120


def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _processed() -> int:
    return InboundEmail.objects.filter(state="processed").count()


def _in_flight() -> int:
    return InboundEmail.objects.filter(state="processing").count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_worker_restarts_and_every_message_is_one_ticket_message(
    desk: Any, imap_port: int
) -> None:
    # given a dovecot mailbox with 120 messages, and the deployed settings with a real queue
    # (SQLite), a worker taking up lost work after 5 s (default: 2 minutes)
    peers.append(
        imap_port, *(build_email(subject=f"crash {i}", body=f"n{i}") for i in range(TOTAL))
    )
    imap_mailbox(imap_port)
    data_dir = Path(tempfile.mkdtemp(prefix="helpline-worker-"))
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
        "DATABASE_URL": database_url(),
        "HELPLINE_DATA_DIR": str(data_dir),
        "HELPLINE_SECRET_KEY": settings.SECRET_KEY,
        "HELPLINE_TASKS_IMMEDIATE": "0",
        "HELPLINE_MAIL_SENDER_RATE": "0/1",
        "HELPLINE_MAIL_RETRY_STALE_SECONDS": "5",
    }
    django = [sys.executable, "-m", "django"]
    worker = [*django, "worker", "--workers", "2"]
    running: subprocess.Popen[bytes] | None = None
    try:
        # when the poller stores them all and queues their processing
        subprocess.run([*django, "mail", "poll"], env=env, check=True, timeout=120)  # noqa: S603
        assert InboundEmail.objects.count() == TOTAL
        assert _processed() == 0
        # and a worker is killed while it holds a batch (claimed, not yet committed)
        running = subprocess.Popen(worker, env=env)  # noqa: S603
        assert _wait_for(lambda: _in_flight() > 0, 120), "the worker took no batch"
        running.send_signal(signal.SIGKILL)
        running.wait()
        lost = set(InboundEmail.objects.filter(state="processing").values_list("pk", flat=True))
        assert lost and _processed() < TOTAL, "the worker was not killed mid-batch"
        # then a restarted worker finishes the queued batches, and the periodic task takes
        # up the batch the killed one held (within a minute)
        running = subprocess.Popen(worker, env=env)  # noqa: S603
        done = _wait_for(lambda: _processed() == TOTAL, 150)
        states = set(InboundEmail.objects.values_list("state", flat=True))
        assert done, f"{_processed()} of {TOTAL} processed, states {states}"
    finally:
        if running is not None and running.poll() is None:
            running.send_signal(signal.SIGKILL)
            running.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert Message.objects.filter(inbound_emails__isnull=False).count() == TOTAL
    bodies = sorted(Message.objects.values_list("body_text", flat=True))
    assert bodies == sorted(f"n{i}" for i in range(TOTAL))
    assert Ticket.objects.count() == TOTAL
    # the killed batch was processed again: a second attempt
    attempts = dict(InboundEmail.objects.values_list("pk", "attempts"))
    assert all(attempts[pk] == 2 for pk in lost)
