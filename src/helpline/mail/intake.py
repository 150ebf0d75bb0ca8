"""The built-in SMTP/LMTP intake server (aiosmtpd) an MTA delivers to.

A message is answered `250` only after its raw bytes are stored; a recipient that is no
active intake mailbox is refused at RCPT (`550`), so the sending MTA keeps the bounce.
LMTP answers DATA once per accepted recipient (RFC 2033, 4.2); SMTP answers `250` only
when the message is stored for every recipient, else `451` (the MTA tries again; what was
stored is recognised by its bytes and not stored twice). Messages up to
`max_stored_bytes()` are accepted: one above the parsing limit is kept raw and makes a
ticket message with a notice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from helpline.mail.models import Mailbox
from helpline.mail.services import max_stored_bytes, receive_raw

logger = logging.getLogger(__name__)

STORED = "250 2.0.0 Message stored"
NO_MAILBOX = "550 5.1.1 No such mailbox here"
NOT_STORED = "451 4.3.0 Could not store the message, try again later"


def _mailbox_for(address: str, *, active: bool = True) -> Mailbox | None:
    rows = Mailbox.objects.filter(address__iexact=address.strip(), way=Mailbox.Way.INTAKE)
    return (rows.filter(is_active=True) if active else rows).first()


def _accepts(address: str) -> bool:
    """Whether `address` is an active intake mailbox (RCPT). Like each call of the
    server into the database, it closes its connection as a request would."""
    close_old_connections()
    try:
        return _mailbox_for(address) is not None
    finally:
        close_old_connections()


def _store(addresses: list[str], raw: bytes) -> list[str]:
    """Store the message for each accepted recipient; the reply for each, in order. A
    mailbox switched off since RCPT still stores it (it is rejected as `mailbox_inactive`,
    and kept); one deleted since then is refused."""
    close_old_connections()
    replies = []
    try:
        for address in addresses:
            mailbox = _mailbox_for(address, active=False)
            if mailbox is None:
                replies.append(NO_MAILBOX)
                continue
            try:
                receive_raw(mailbox=mailbox, raw_bytes=raw, source="intake")
            except Exception:
                logger.exception("storing a message from the intake server failed")
                replies.append(NOT_STORED)
            else:
                replies.append(STORED)
    finally:
        close_old_connections()
    return replies


def _smtp_reply(replies: list[str]) -> str:
    """One SMTP answer for all recipients: stored for each, or refused for each, or else
    try again later."""
    if all(reply == STORED for reply in replies):
        return STORED
    if all(reply == NO_MAILBOX for reply in replies):
        return NO_MAILBOX
    return NOT_STORED


class IntakeHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not await sync_to_async(_accepts, thread_sensitive=False)(address):
            return NO_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        recipients = list(envelope.rcpt_tos)
        try:
            replies = await sync_to_async(_store, thread_sensitive=False)(recipients, raw)
        except Exception:
            logger.exception("storing a message from the intake server failed")
            replies = [NOT_STORED] * len(recipients)
        if isinstance(server, LMTP):
            return "\r\n".join(replies)
        return _smtp_reply(replies)


class IntakeController(Controller):
    def __init__(self, host: str, port: int, *, lmtp: bool = False) -> None:
        self.lmtp = lmtp
        super().__init__(
            IntakeHandler(),
            hostname=host,
            port=port,
            data_size_limit=max_stored_bytes(),
            ready_timeout=10,
        )

    def factory(self) -> SMTP:
        cls = LMTP if self.lmtp else SMTP
        return cls(
            self.handler,
            data_size_limit=max_stored_bytes(),
            hostname=getattr(settings, "HELPLINE_MAIL_INTAKE_HOSTNAME", None),
            decode_data=False,
        )


def serve(host: str, port: int, *, lmtp: bool = False) -> None:
    """Run the intake server until interrupted."""
    controller = IntakeController(host, port, lmtp=lmtp)
    controller.start()
    logger.info("mail intake (%s) listening on %s:%s", "LMTP" if lmtp else "SMTP", host, port)
    try:
        asyncio.run(_forever())
    finally:
        controller.stop()


async def _forever() -> None:
    await asyncio.Event().wait()
