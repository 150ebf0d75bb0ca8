"""IMAP polling: fetch new messages by UID, store them raw, then mark/move/delete them.

Resumable: the mailbox remembers UIDVALIDITY and the last stored UID, so a poll that
stops half-way continues where it stopped; a changed UIDVALIDITY starts over (stored
messages are deduplicated by Message-ID and bytes, so nothing is ingested twice). Every
stored message still in the folder gets the processed action at the end of each poll, so
one that a poll stored but could not mark, move or delete (connection lost, a missing
target folder) is handled by a later poll. Folder names may be in any language: they are
sent in IMAP's modified UTF-7 (RFC 3501, 5.1.3).
"""

from __future__ import annotations

import base64
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
# UIDs per STORE/COPY command when stored messages get their processed action.
ACTION_CHUNK = 200


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
    """The folder name as an IMAP quoted string, in modified UTF-7."""
    encoded = _modified_utf7(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(name: str) -> str:
    """IMAP's mailbox name encoding (RFC 3501, 5.1.3): printable ASCII as it is ("&" as
    "&-"), anything else as "&" + modified base64 of UTF-16BE + "-"."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def poll_mailbox(mailbox: Mailbox, *, limit: int = 500) -> int:
    """Store up to `limit` new messages of the mailbox; return how many were fetched."""
    fetched = 0
    try:
        client = _connect(mailbox)
    except (OSError, imaplib.IMAP4.error, UnicodeError) as exc:
        _record(mailbox, f"connect: {exc}")
        return 0
    error = ""
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
            batch, error = _fetch(client, uids[:BATCH])
            if batch:
                # Stored, with the UID to resume after, in one transaction; only then may
                # the server copies be marked, moved or deleted (`_apply_processed`).
                with transaction.atomic():
                    receive_many(mailbox=mailbox, raws=[raw for _uid, raw in batch], source="imap")
                    mailbox.imap_last_uid = batch[-1][0]
                    mailbox.save(update_fields=["imap_last_uid"])
                fetched += len(batch)
            if error:
                break
            uids = uids[len(batch) :]
        _apply_processed(client, mailbox)
        mailbox.last_polled_at = timezone.now()
        mailbox.last_error = error
        mailbox.save(update_fields=["last_polled_at", "last_error"])
        if error:
            logger.warning("IMAP poll of %s: %s", mailbox.address, error)
    except (OSError, imaplib.IMAP4.error) as exc:
        _record(mailbox, str(exc))
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            logger.debug("IMAP logout failed for %s", mailbox.address)
    return fetched


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> tuple[list[tuple[int, bytes]], str]:
    """The raw messages of the first `uids`, as many as `BATCH_BYTES` allows (at least one),
    and an error when a message could not be fetched (the batch ends before it)."""
    fetched: list[tuple[int, bytes]] = []
    size = 0
    for uid in uids:
        if size >= BATCH_BYTES:
            break
        status, parts = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) == 2), None)
        if status != "OK" or raw is None:
            return fetched, f"cannot fetch UID {uid}"
        fetched.append((uid, bytes(raw)))
        size += len(raw)
    return fetched, ""


def _apply_processed(client: imaplib.IMAP4, mailbox: Mailbox) -> None:
    """Mark seen, move or delete every stored message (UID up to the last stored one) that
    is still in the folder without it: the ones of this poll, and any a poll before stored
    but could not handle."""
    if not mailbox.imap_last_uid:
        return
    mark_seen = mailbox.processed_action == Mailbox.Processed.MARK_SEEN
    criteria = f"UID 1:{mailbox.imap_last_uid} {'UNSEEN' if mark_seen else 'UNDELETED'}"
    status, data = client.uid("SEARCH", criteria)
    found = (data[0] or b"").split() if status == "OK" and data else []
    uids = [uid for uid in map(int, found) if uid <= mailbox.imap_last_uid]
    for start in range(0, len(uids), ACTION_CHUNK):
        uid_set = ",".join(str(uid) for uid in uids[start : start + ACTION_CHUNK])
        if mark_seen:
            client.uid("STORE", uid_set, "+FLAGS", "(\\Seen)")
            continue
        if mailbox.processed_action == Mailbox.Processed.MOVE and mailbox.processed_folder:
            status, _data = client.uid("COPY", uid_set, _quote(mailbox.processed_folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot copy to {mailbox.processed_folder}")
        client.uid("STORE", uid_set, "+FLAGS", "(\\Seen \\Deleted)")
    if uids and not mark_seen:
        client.expunge()


def _record(mailbox: Mailbox, error: str) -> None:
    logger.warning("IMAP poll of %s failed: %s", mailbox.address, error)
    mailbox.last_error = error[:2000]
    mailbox.save(update_fields=["last_error"])
