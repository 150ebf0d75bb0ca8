"""`helpline mail add|list|http-secret|replay|poll` and the `mail-intake` name."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from helpline.cli import COMMANDS
from helpline.mail import secrets, services
from helpline.mail.models import InboundEmail, Mailbox

from .conftest import build_email


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("mail", *args, stdout=out)
    return out.getvalue()


def test_add_list_and_http_secret(desk: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-password\n"))
    out = _run(
        "add",
        "--address",
        "Billing@Helpline.test",
        "--way",
        "imap",
        "--team",
        "Finance",
        "--imap-host",
        "imap.example.test",
        "--imap-username",
        "billing",
        "--processed",
        "move",
        "--processed-folder",
        "Done",
        "--secret-from-stdin",
        "--follow-up-on-closed",
        "no",
    )
    mailbox = Mailbox.objects.get(address="billing@helpline.test")
    assert "saved" in out and mailbox.team == desk.finance_team
    assert not mailbox.follow_up_on_closed
    assert "s3cret-password" not in mailbox.imap_secret_encrypted
    assert secrets.decrypt(mailbox.imap_secret_encrypted) == "s3cret-password"
    assert "billing@helpline.test\timap\tFinance" in _run("list")
    secret = _run("http-secret", "billing@helpline.test").strip()
    assert services.mailbox_secret_matches(Mailbox.objects.get(pk=mailbox.pk), secret)
    with pytest.raises(CommandError, match="host"):
        _run("add", "--address", "x@helpline.test", "--way", "imap")
    with pytest.raises(CommandError, match="No team"):
        _run("add", "--address", "x@helpline.test", "--team", "Nope")


def test_replay_by_state_and_id(desk: Any, mailbox: Mailbox) -> None:
    row, _created = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    assert "Replayed 1: 1 processed" in _run("replay")
    assert InboundEmail.objects.get(pk=row.pk).state == "processed"
    assert "Replayed 0" in _run("replay", "--id", str(row.pk))
    rejected, _c = services.store_raw(
        mailbox=mailbox, raw=build_email(headers={"X-Autoreply": "yes"}), source="test"
    )
    services.process_inbound(rejected.pk)
    assert "1 rejected" in _run("replay", "--state", "rejected")


def test_poll_unknown_mailbox_and_intake_name(desk: Any) -> None:
    with pytest.raises(CommandError):
        _run("poll", "--mailbox", "none@helpline.test")
    assert COMMANDS["mail-intake"] == "mail_intake"
