"""IMAP polling: fetch new messages by UID, store each raw, then mark/move/delete it.

Resumable: the mailbox remembers UIDVALIDITY and the last stored UID, so a poll that
stops half-way continues where it stopped; a changed UIDVALIDITY starts over (stored
messages are deduplicated by Message-ID and bytes, so nothing is ingested twice).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl

from django.utils import timezone

from helpline.mail import secrets
from helpline.mail.models import Mailbox
from helpline.mail.services import receive_raw

logger = logging.getLogger(__name__)

BATCH = 50
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
        for uid in uids:
            status, parts = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) == 2), None)
            if status != "OK" or raw is None:
                _record(mailbox, f"cannot fetch UID {uid}")
                break
            receive_raw(mailbox=mailbox, raw_bytes=bytes(raw), source="imap")
            mailbox.imap_last_uid = uid
            mailbox.save(update_fields=["imap_last_uid"])
            _after_store(client, mailbox, uid)
            fetched += 1
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
