"""The SMTP/LMTP intake server with Python's smtplib as the MTA: one LMTP reply per
recipient, never `250` for a message that was not stored, large messages kept, and the
`helpline mail-intake` command itself."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from helpline.mail import services
from helpline.mail.intake import IntakeController
from helpline.mail.models import InboundEmail, Mailbox
from helpline.tickets.models import Message

from . import peers
from .conftest import build_email, database_url

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def intake(*, lmtp: bool = False) -> Iterator[int]:
    port = peers.free_port()
    controller = IntakeController("127.0.0.1", port, lmtp=lmtp)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _wire(raw: bytes) -> bytes:
    """The message with CRLF line ends, as an MTA sends it."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _mailbox(address: str) -> Mailbox:
    return Mailbox.objects.create(address=address, way=Mailbox.Way.INTAKE)


def test_lmtp_answers_data_once_per_accepted_recipient(desk: Any) -> None:
    # given two intake mailboxes, and a message for both (and for an unknown address)
    _mailbox("support@helpline.test")
    _mailbox("billing@helpline.test")
    raw = _wire(build_email(subject="to both", to="support@helpline.test, billing@helpline.test"))
    with intake(lmtp=True) as port, smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()  # LHLO
        assert client.mail("dave@example.test")[0] == 250
        assert client.rcpt("support@helpline.test")[0] == 250
        assert client.rcpt("nobody@helpline.test")[0] == 550
        assert client.rcpt("billing@helpline.test")[0] == 250
        # when the data is sent, then there is one reply per accepted recipient, in order
        first = client.data(raw)
        second = client.getreply()
        assert (first[0], second[0]) == (250, 250)
        # and the connection is ready for the next transaction
        assert client.noop()[0] == 250
    rows = InboundEmail.objects.order_by("mailbox__address")
    assert [(row.mailbox.address, bytes(row.raw)) for row in rows] == [
        ("billing@helpline.test", raw),
        ("support@helpline.test", raw),
    ]
    # the same message in two mailboxes is one ticket message
    assert {row.state for row in rows} == {"processed"}
    assert Message.objects.count() == 1


def test_no_250_for_a_message_that_was_not_stored(desk: Any) -> None:
    # given a transaction whose recipient's mailbox is deleted between RCPT and DATA
    gone = _mailbox("gone@helpline.test")
    _mailbox("support@helpline.test")
    raw = build_email(subject="half")
    with intake() as port, smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("dave@example.test")
        assert client.rcpt("gone@helpline.test")[0] == 250
        assert client.rcpt("support@helpline.test")[0] == 250
        assert services.mailbox_delete(actor=desk.admin, mailbox=gone) is True
        # then DATA is answered "try again later", as the message is not stored for both
        code, reply = client.data(raw)
        assert (code, reply) == (451, b"4.3.0 Could not store the message, try again later")
        # and the MTA's retry is refused for the deleted mailbox, accepted for the other,
        # without storing the message a second time
        client.rset()
        client.mail("dave@example.test")
        assert client.rcpt("gone@helpline.test")[0] == 550
        assert client.rcpt("support@helpline.test")[0] == 250
        assert client.data(raw)[0] == 250
    row = InboundEmail.objects.get()
    assert (row.mailbox.address, row.state) == ("support@helpline.test", "processed")
    assert Message.objects.count() == 1


def test_a_mailbox_switched_off_after_rcpt_still_keeps_the_message(desk: Any) -> None:
    mailbox = _mailbox("support@helpline.test")
    with intake() as port, smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("dave@example.test")
        assert client.rcpt("support@helpline.test")[0] == 250
        services.mailbox_update(actor=desk.admin, mailbox=mailbox, is_active=False)
        assert client.data(build_email(subject="late"))[0] == 250
    row = InboundEmail.objects.get()
    assert (row.state, row.rejection_reason, row.subject) == (
        "rejected",
        "mailbox_inactive",
        "late",
    )


def test_a_message_above_the_parsing_limit_is_kept_with_a_notice(desk: Any, settings: Any) -> None:
    settings.HELPLINE_MAIL_MAX_MESSAGE_BYTES = 2_000
    settings.HELPLINE_MAIL_MAX_STORED_BYTES = 20_000
    _mailbox("support@helpline.test")
    large = _wire(build_email(subject="large", body="x" * 5_000))
    huge = _wire(build_email(subject="huge", body="y" * 30_000))
    with intake() as port, smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert client.sendmail("dave@example.test", ["support@helpline.test"], large) == {}
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
            client.sendmail("dave@example.test", ["support@helpline.test"], huge)
    assert refused.value.smtp_code == 552
    row = InboundEmail.objects.get()
    assert bytes(row.raw) == large
    assert row.state == "processed" and row.ticket_message is not None
    assert "larger than the limit" in row.ticket_message.body_text
    assert row.ticket is not None and row.ticket.subject == "large"


def test_the_mail_intake_command_serves_lmtp_until_interrupted(desk: Any) -> None:
    _mailbox("support@helpline.test")
    port = peers.free_port()
    env = {**os.environ, "DATABASE_URL": database_url()}
    command = [sys.executable, "-m", "helpline.cli", "mail-intake", "--port", str(port), "--lmtp"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)  # noqa: S603
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        raw = _wire(build_email(subject="via the command"))
        with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
            assert client.sendmail("dave@example.test", ["support@helpline.test"], raw) == {}
    finally:
        server.send_signal(signal.SIGINT)
        out, _err = server.communicate(timeout=20)
    assert server.returncode == 0
    assert b"Stopped." in out
    row = InboundEmail.objects.get()
    assert (row.source, row.state, row.subject) == ("intake", "processed", "via the command")
