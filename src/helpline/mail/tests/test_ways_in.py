"""Ways in, end to end with real peers on loopback: dovecot IMAP, SMTP intake, HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from helpline.integrations.services import token_create
from helpline.mail import services
from helpline.mail.models import InboundEmail, Mailbox
from helpline.tickets.models import Message

from . import peers
from .conftest import build_email, database_url, imap_mailbox, poll


def test_imap_poller_ingests_marks_seen_and_resumes(desk: Any, imap_port: int) -> None:
    peers.append(imap_port, *(build_email(subject=f"imap {i}") for i in range(3)))
    mailbox = imap_mailbox(imap_port)
    assert poll(mailbox) == 3
    assert mailbox.last_error == ""
    assert sorted(InboundEmail.objects.values_list("subject", "state")) == [
        (f"imap {i}", "processed") for i in range(3)
    ]
    assert all(b"\\Seen" in item for item in peers.flags(imap_port))
    assert mailbox.imap_last_uid == 3 and mailbox.imap_uid_validity
    peers.append(imap_port, build_email(subject="imap 3"), build_email(subject="imap 4"))
    assert poll(mailbox) == 2
    assert poll(mailbox) == 0
    assert Message.objects.count() == 5


def test_imap_poller_moves_processed_mail(desk: Any, imap_port: int) -> None:
    peers.append(imap_port, build_email(subject="move me"))
    mailbox = imap_mailbox(
        imap_port, processed_action=Mailbox.Processed.MOVE, processed_folder="Processed"
    )
    assert poll(mailbox) == 1
    assert peers.flags(imap_port, "INBOX") == []
    assert len(peers.flags(imap_port, "Processed")) == 1
    assert InboundEmail.objects.get().state == "processed"


def test_imap_xoauth2_login(desk: Any) -> None:
    if not Path(peers.DOVECOT).exists():
        pytest.skip("dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="helpline-dovecot-"))
    try:
        with peers.introspection_server() as url, peers.dovecot(root, url) as port:
            peers.append(port, build_email(subject="oauth"))
            mailbox = imap_mailbox(port, imap_auth=Mailbox.Auth.XOAUTH2)
            services.mailbox_set_imap_secret(mailbox=mailbox, secret=peers.TOKEN)
            assert poll(mailbox) == 1, mailbox.last_error
            services.mailbox_set_imap_secret(mailbox=mailbox, secret="expired-token")
            peers.append(port, build_email(subject="oauth 2"))
            assert poll(mailbox) == 0
            assert mailbox.last_error.startswith("connect")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert InboundEmail.objects.get().subject == "oauth"


def test_imap_wrong_password_is_recorded(desk: Any, imap_port: int) -> None:
    mailbox = imap_mailbox(imap_port)
    services.mailbox_set_imap_secret(mailbox=mailbox, secret="wrong")
    assert poll(mailbox) == 0
    assert "connect" in mailbox.last_error
    assert peers.PASSWORD not in mailbox.last_error
    # a password LOGIN cannot send (not ASCII) is a recorded error too, not a crashed poll
    services.mailbox_set_imap_secret(mailbox=mailbox, secret="пароль-密码")
    assert poll(mailbox) == 0
    assert mailbox.last_error.startswith("connect: ")
    assert "пароль" not in mailbox.last_error


@pytest.mark.django_db(transaction=True)
def test_smtp_intake_stores_before_250(desk: Any) -> None:
    from helpline.mail.intake import IntakeController

    Mailbox.objects.create(address="support@helpline.test", way=Mailbox.Way.INTAKE)
    port = peers.free_port()
    controller = IntakeController("127.0.0.1", port)
    controller.start()
    try:
        raw = build_email(subject="via smtp")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            refused = client.sendmail(
                "dave@example.test", ["support@helpline.test", "nobody@helpline.test"], raw
            )
            assert list(refused) == ["nobody@helpline.test"]
            row = InboundEmail.objects.get()
            assert b"Subject: via smtp" in bytes(row.raw)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("dave@example.test", ["nobody@helpline.test"], raw)
    finally:
        controller.stop()
    row = InboundEmail.objects.get()
    assert (row.source, row.state, row.subject) == ("intake", "processed", "via smtp")
    assert row.ticket is not None and row.ticket.channel == "email"


@pytest.mark.django_db(transaction=True)
def test_lmtp_intake(desk: Any) -> None:
    from helpline.mail.intake import IntakeController

    Mailbox.objects.create(address="billing@helpline.test", way=Mailbox.Way.INTAKE)
    port = peers.free_port()
    controller = IntakeController("127.0.0.1", port, lmtp=True)
    controller.start()
    try:
        with smtplib.LMTP("127.0.0.1", port) as client:
            client.sendmail("carol@globex.test", ["billing@helpline.test"], build_email())
    finally:
        controller.stop()
    row = InboundEmail.objects.get()
    assert (row.mailbox.address, row.state) == ("billing@helpline.test", "processed")


def _post(client: Any, mailbox: str, raw: bytes, **headers: str) -> Any:
    return client.post(
        f"/api/v1/mail/inbound/{mailbox}",
        data=raw,
        content_type="message/rfc822",
        headers=headers,
    )


def test_http_endpoint_with_token_or_mailbox_secret(
    desk: Any, mailbox: Mailbox, client: Any
) -> None:
    _token, plain = token_create(
        actor=desk.admin, user=desk.admin, name="mail", scopes=["mail:write"]
    )
    raw = build_email(subject="via http")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = _post(client, mailbox.address, raw, Authorization=f"Bearer {plain}")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["duplicate"] is False and body["state"] in ("received", "processed")
    assert InboundEmail.objects.get(pk=body["id"]).state == "processed"
    again = _post(client, str(mailbox.pk), raw, Authorization=f"Bearer {plain}")
    assert again.json() == {**body, "state": "processed", "duplicate": True}
    secret = services.mailbox_new_http_secret(mailbox=mailbox)
    other = build_email(subject="with secret")
    assert _post(client, mailbox.address, other, **{"X-Mailbox-Secret": secret}).status_code == 202
    bad = _post(client, mailbox.address, other, **{"X-Mailbox-Secret": "nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "authentication_failed"
    assert _post(client, mailbox.address, other).status_code == 401
    _t, weak = token_create(actor=desk.admin, user=desk.admin, name="r", scopes=["tickets:read"])
    forbidden = _post(client, mailbox.address, other, Authorization=f"Bearer {weak}")
    assert forbidden.json()["error"]["code"] == "insufficient_scope"
    missing = _post(client, "nobody@x.test", other, Authorization=f"Bearer {plain}")
    assert missing.status_code == 404
    assert InboundEmail.objects.count() == 2


def test_http_endpoint_size_limits(desk: Any, mailbox: Mailbox, client: Any, settings: Any) -> None:
    settings.HELPLINE_MAIL_MAX_MESSAGE_BYTES = 100
    settings.HELPLINE_MAIL_MAX_STORED_BYTES = 2_000
    secret = services.mailbox_new_http_secret(mailbox=mailbox)
    # above the parsing limit: stored, and a ticket message with a notice
    large = build_email(subject="large")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = _post(client, mailbox.address, large, **{"X-Mailbox-Secret": secret})
    assert response.status_code == 202, response.content
    row = InboundEmail.objects.get(pk=response.json()["id"])
    assert bytes(row.raw) == large and row.state == "processed"
    assert row.ticket_message is not None
    assert "larger than the limit" in row.ticket_message.body_text
    # above what is stored at all: refused, nothing stored
    huge = build_email(body="x" * 3_000)
    response = _post(client, mailbox.address, huge, **{"X-Mailbox-Secret": secret})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    # an empty body is no message
    empty = _post(client, mailbox.address, b"\r\n", **{"X-Mailbox-Secret": secret})
    assert empty.status_code == 422 and empty.json()["error"]["fields"] == {"body": "empty"}
    assert InboundEmail.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_loses_and_duplicates_nothing(desk: Any) -> None:
    mailbox = Mailbox.objects.create(address="support@helpline.test")
    total = 120
    for i in range(total):
        services.store_raw(
            mailbox=mailbox, raw=build_email(subject=f"crash {i}", body=f"n{i}"), source="test"
        )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "helpline.test_settings",
        "HELPLINE_MAIL_SENDER_RATE": "0/1",
    }
    command = [sys.executable, "-m", "django", "mail", "replay"]
    worker = subprocess.Popen(command, env=env)  # noqa: S603
    # killed once a batch is done and the next one is claimed, not committed
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = list(InboundEmail.objects.values_list("state", flat=True))
        if "processed" in states and "processing" in states:
            break
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    lost = set(InboundEmail.objects.filter(state="processing").values_list("pk", flat=True))
    killed_at = InboundEmail.objects.filter(state="processed").count()
    assert lost and 0 < killed_at < total, "the worker was not killed mid-batch"
    restarted = subprocess.run(command, env=env, check=True, timeout=300)  # noqa: S603
    assert restarted.returncode == 0
    rows = InboundEmail.objects.all()
    assert {row.state for row in rows} == {"processed"}
    assert all(row.attempts == 2 for row in rows if row.pk in lost)
    assert Message.objects.filter(inbound_emails__isnull=False).count() == total
    bodies = sorted(Message.objects.values_list("body_text", flat=True))
    assert bodies == sorted(f"n{i}" for i in range(total))
