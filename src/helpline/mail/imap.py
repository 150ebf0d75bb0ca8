"""IMAP polling: fetch new messages by UID, store them raw, then mark/move/delete them.

Resumable: the mailbox remembers UIDVALIDITY and the last stored UID, so a poll that
stops half-way continues where it stopped; a changed UIDVALIDITY starts over (stored
messages are deduplicated by Message-ID and bytes, so nothing is ingested twice).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl

from django.db import transaction
from django.utils import timezone

from helpline.mail import secrets
from helpline.mail.models import Mailbox
from helpline.mail.services import BATCH_BYTES, BATCH_SIZE, receive_many

logger = logging.getLogger(__name__)

BATCH = BATCH_SIZE
UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    timeout = 30
    if mailbox.imap_security == Mailbox.Security.SSL:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.imap_host,
            mailbox.imap_port,
            ssl_context=ssl.create_default_context(),
            timeout=timeout,
        )
    else:
        client = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=timeout)
        if mailbox.imap_security == Mailbox.Security.STARTTLS:
            client.starttls(ssl.create_default_context())
    secret = secrets.decrypt(mailbox.imap_secret_encrypted)
    if mailbox.imap_auth == Mailbox.Auth.XOAUTH2:
        token = f"user={mailbox.imap_username}\x01auth=Bearer {secret}\x01\x01".encode()
        client.authenticate("XOAUTH2", lambda _challenge: token)
    else:
        client.login(mailbox.imap_username, secret)
    return client


def _uid_validity(client: imaplib.IMAP4, folder: str) -> int | None:
    status, data = client.status(_quote(folder), "(UIDVALIDITY)")
    found = UIDVALIDITY.search(data[0] or b"") if status == "OK" and data else None
    return int(found.group(1)) if found else None


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def poll_mailbox(mailbox: Mailbox, *, limit: int = 500) -> int:
    """Store up to `limit` new messages of the mailbox; return how many were fetched."""
    fetched = 0
    try:
        client = _connect(mailbox)
    except (OSError, imaplib.IMAP4.error) as exc:
        _record(mailbox, f"connect: {exc}")
        return 0
    try:
        validity = _uid_validity(client, mailbox.imap_folder)
        if validity is not None and validity != mailbox.imap_uid_validity:
            mailbox.imap_uid_validity = validity
            mailbox.imap_last_uid = 0
            mailbox.save(update_fields=["imap_uid_validity", "imap_last_uid"])
        status, _data = client.select(_quote(mailbox.imap_folder))
        if status != "OK":
            _record(mailbox, f"cannot open folder {mailbox.imap_folder}")
            return 0
        status, data = client.uid("SEARCH", f"UID {mailbox.imap_last_uid + 1}:*")
        uids = sorted(int(uid) for uid in (data[0] or b"").split()) if status == "OK" else []
        uids = [uid for uid in uids if uid > mailbox.imap_last_uid][:limit]
        while uids:
            batch, complete = _fetch(client, mailbox, uids[:BATCH])
            if batch:
                # Stored, with the UID to resume after, in one transaction; only then may
                # the server copies be marked, moved or deleted.
                with transaction.atomic():
                    receive_many(mailbox=mailbox, raws=[raw for _uid, raw in batch], source="imap")
                    mailbox.imap_last_uid = batch[-1][0]
                    mailbox.save(update_fields=["imap_last_uid"])
                for uid, _raw in batch:
                    _after_store(client, mailbox, uid)
                fetched += len(batch)
            if not complete:
                break
            uids = uids[len(batch) :]
        if mailbox.processed_action != Mailbox.Processed.MARK_SEEN and fetched:
            client.expunge()
        mailbox.last_polled_at = timezone.now()
        mailbox.last_error = ""
        mailbox.save(update_fields=["last_polled_at", "last_error"])
    except (OSError, imaplib.IMAP4.error) as exc:
        _record(mailbox, str(exc))
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            logger.debug("IMAP logout failed for %s", mailbox.address)
    return fetched


def _fetch(
    client: imaplib.IMAP4, mailbox: Mailbox, uids: list[int]
) -> tuple[list[tuple[int, bytes]], bool]:
    """The raw messages of the first `uids`, as many as `BATCH_BYTES` allows (at least one);
    False when a message could not be fetched (the batch ends before it)."""
    fetched: list[tuple[int, bytes]] = []
    size = 0
    for uid in uids:
        if size >= BATCH_BYTES:
            break
        status, parts = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) == 2), None)
        if status != "OK" or raw is None:
            _record(mailbox, f"cannot fetch UID {uid}")
            return fetched, False
        fetched.append((uid, bytes(raw)))
        size += len(raw)
    return fetched, True


def _after_store(client: imaplib.IMAP4, mailbox: Mailbox, uid: int) -> None:
    """The raw bytes are stored: now the server copy may be marked, moved or deleted."""
    if mailbox.processed_action == Mailbox.Processed.MARK_SEEN:
        client.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        return
    if mailbox.processed_action == Mailbox.Processed.MOVE and mailbox.processed_folder:
        status, _data = client.uid("COPY", str(uid), _quote(mailbox.processed_folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot copy to {mailbox.processed_folder}")
    client.uid("STORE", str(uid), "+FLAGS", "(\\Seen \\Deleted)")


def _record(mailbox: Mailbox, error: str) -> None:
    logger.warning("IMAP poll of %s failed: %s", mailbox.address, error)
    mailbox.last_error = error[:2000]
    mailbox.save(update_fields=["last_error"])
