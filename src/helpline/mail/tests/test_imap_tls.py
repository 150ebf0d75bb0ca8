"""IMAP over TLS against a real dovecot: implicit TLS (IMAPS) and STARTTLS, with the server's
certificate verified; an untrusted certificate is refused, recorded, and loses nothing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from helpline.mail import services
from helpline.mail.imap import poll_mailbox
from helpline.mail.models import Mailbox
from helpline.tickets.models import Ticket

from . import peers
from .conftest import build_email


@pytest.fixture
def tls_dovecot() -> Iterator[tuple[int, int, Path]]:
    if not Path(peers.DOVECOT).exists():
        pytest.skip("dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="helpline-dovecot-tls-"))
    try:
        with peers.dovecot_tls(root) as ports:
            yield ports
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _mailbox(
    port: int, security: str, host: str = "localhost", address: str = peers.USER
) -> Mailbox:
    mailbox = Mailbox.objects.create(
        address=address,
        way=Mailbox.Way.IMAP,
        imap_host=host,
        imap_port=port,
        imap_security=security,
        imap_username=peers.USER,
    )
    services.mailbox_set_imap_secret(mailbox=mailbox, secret=peers.PASSWORD)
    return mailbox


def _poll(mailbox: Mailbox) -> int:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return poll_mailbox(mailbox)


@pytest.mark.parametrize("security", [Mailbox.Security.SSL, Mailbox.Security.STARTTLS])
def test_tls_polling_with_a_trusted_certificate(
    desk: Any, tls_dovecot: tuple[int, int, Path], monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    port, imaps_port, certificate = tls_dovecot
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # trust the test's own CA
    peers.append(port, build_email(subject=f"over {security}"))
    mailbox = _mailbox(imaps_port if security == Mailbox.Security.SSL else port, security)
    assert _poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert Ticket.objects.filter(subject=f"over {security}").count() == 1


def test_an_untrusted_certificate_is_refused_recorded_and_nothing_is_lost(
    desk: Any, tls_dovecot: tuple[int, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, imaps_port, certificate = tls_dovecot
    peers.append(port, build_email(subject="waits for trust"))
    mailbox = _mailbox(imaps_port, Mailbox.Security.SSL)
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent-ca.pem")
    assert _poll(mailbox) == 0
    mailbox.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in mailbox.last_error
    assert not Ticket.objects.filter(subject="waits for trust").exists()
    # the certificate names localhost only: reached as 127.0.0.1 it is refused (hostname checked)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    wrong_name = _mailbox(
        imaps_port, Mailbox.Security.SSL, host="127.0.0.1", address="other@helpline.test"
    )
    assert _poll(wrong_name) == 0
    wrong_name.refresh_from_db()
    assert "IP address mismatch" in wrong_name.last_error
    # once trusted, the message that waited on the server comes in
    assert _poll(mailbox) == 1
    assert Ticket.objects.filter(subject="waits for trust").count() == 1
