"""The built-in SMTP/LMTP intake server (aiosmtpd) an MTA delivers to.

A message is answered `250` only after its raw bytes are stored; a recipient that is no
active intake mailbox is refused at RCPT (`550`), so the sending MTA keeps the bounce.
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
from helpline.mail.services import max_message_bytes, receive_raw

logger = logging.getLogger(__name__)


def _mailbox_for(address: str) -> Mailbox | None:
    close_old_connections()
    return Mailbox.objects.filter(
        address__iexact=address.strip(), is_active=True, way=Mailbox.Way.INTAKE
    ).first()


def _store(addresses: list[str], raw: bytes) -> None:
    close_old_connections()
    for address in addresses:
        mailbox = _mailbox_for(address)
        if mailbox is not None:
            receive_raw(mailbox=mailbox, raw_bytes=raw, source="intake")


class IntakeHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if await sync_to_async(_mailbox_for, thread_sensitive=False)(address) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await sync_to_async(_store, thread_sensitive=False)(list(envelope.rcpt_tos), raw)
        except Exception:
            logger.exception("storing a message from the intake server failed")
            return "451 4.3.0 Could not store the message, try again later"
        return "250 2.0.0 Message stored"


class IntakeController(Controller):
    def __init__(self, host: str, port: int, *, lmtp: bool = False) -> None:
        self.lmtp = lmtp
        super().__init__(
            IntakeHandler(),
            hostname=host,
            port=port,
            data_size_limit=max_message_bytes(),
            ready_timeout=10,
        )

    def factory(self) -> SMTP:
        cls = LMTP if self.lmtp else SMTP
        return cls(
            self.handler,
            data_size_limit=max_message_bytes(),
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
