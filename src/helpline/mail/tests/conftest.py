"""Fixtures of the mail tests: a mailbox on the test desk, raw message builders, the corpus."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from . import peers

REPO = Path(__file__).resolve().parents[4]
# The shared data sets sit beside the checkout (../shared); a clone made elsewhere on this
# machine (CI) finds them at the workplace's fixed place.
_PLACES = [REPO.parent / "shared" / "corpus" / "mail", Path("/work/shared/corpus/mail")]
CORPUS = Path(
    os.environ.get("HELPLINE_MAIL_CORPUS")
    or next((place for place in _PLACES if place.is_dir()), _PLACES[0])
)
NOT_MESSAGES = {"SOURCES.md", "README.md", ".gitattributes"}


def corpus_files() -> list[Path]:
    """Every raw message of the corpus (attachment payload folders are not messages)."""
    if not CORPUS.is_dir():
        return []
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file()
        and path.name not in NOT_MESSAGES
        and not {"files", "attachments"} & set(path.relative_to(CORPUS).parts[:-1])
    )


def need_corpus() -> None:
    if not corpus_files():
        pytest.skip(f"mail corpus not found at {CORPUS} (set HELPLINE_MAIL_CORPUS)")


def build_email(
    *,
    sender: str = "Dave Solo <dave@example.test>",
    to: str = "support@helpline.test",
    subject: str = "Printer on fire",
    body: str = "It is burning.",
    html: str | None = None,
    cc: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


@pytest.fixture
def mailbox(desk: Any) -> Any:
    from helpline.mail.models import Mailbox

    return Mailbox.objects.create(address="support@helpline.test", team=desk.l1)


@pytest.fixture
def imap_port() -> Iterator[int]:
    """A private dovecot IMAP server on loopback (its own config in a temp folder)."""
    if not Path(peers.DOVECOT).exists():
        pytest.skip("dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="helpline-dovecot-"))
    try:
        with peers.dovecot(root) as port:
            yield port
    finally:
        shutil.rmtree(root, ignore_errors=True)


def imap_mailbox(port: int, **extra: Any) -> Any:
    """An IMAP mailbox polling the test's dovecot with the test user's password."""
    from helpline.mail import services
    from helpline.mail.models import Mailbox

    mailbox = Mailbox.objects.create(
        address=peers.USER,
        way=Mailbox.Way.IMAP,
        imap_host="127.0.0.1",
        imap_port=port,
        imap_security=Mailbox.Security.NONE,
        imap_username=peers.USER,
        **extra,
    )
    services.mailbox_set_imap_secret(mailbox=mailbox, secret=peers.PASSWORD)
    return mailbox


def poll(mailbox: Any, **options: Any) -> int:
    """Poll as the periodic task does; the processing task runs after the commit."""
    from helpline.mail.imap import poll_mailbox

    with TestCase.captureOnCommitCallbacks(execute=True):
        return poll_mailbox(mailbox, **options)


def database_url() -> str:
    """The URL of the test database, for processes a test starts (workers, commands)."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST']}:{conf['PORT'] or 5432}/{conf['NAME']}"
