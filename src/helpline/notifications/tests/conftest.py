"""A real SMTP peer for the outbound tests: aiosmtpd on a free loopback port.

`smtp_peer` starts the server and points Django's SMTP backend at it; `peer.answer_rcpt`
makes the server refuse recipients ("550 ..." / "451 ..."), `peer.stop()` downs it and
`peer.start()` brings it back on the same port. `peer.messages` are the parsed e-mails
received, `peer.raw` their exact bytes."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Handler:
    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.answer_rcpt = ""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.answer_rcpt:
            return self.answer_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpPeer:
    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.handler = Handler()
        self.controller: Controller | None = None
        self.credentials = credentials
        self.logins: list[str] = []

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login = (data.login.decode(), data.password.decode())
        if login != self.credentials:
            return AuthResult(success=False, handled=False)
        self.logins.append(login[0])
        return AuthResult(success=True)

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.credentials is not None:
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def raw(self) -> list[bytes]:
        return self.handler.raw

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(data, policy=email.policy.default) for data in self.handler.raw
        ]

    def answer_rcpt(self, answer: str) -> None:
        self.handler.answer_rcpt = answer


@pytest.fixture
def smtp_peer(settings: Any) -> Iterator[SmtpPeer]:
    peer = SmtpPeer()
    peer.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = peer.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Helpline <support@helpline.test>"
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def auth_smtp_peer() -> Iterator[SmtpPeer]:
    """A second SMTP server that requires a login (the sender identities' own account)."""
    peer = SmtpPeer(credentials=("mailer", "s3cret-Passw0rd"))
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """`with committed(): ...` runs the after-commit work (event dispatch, e-mail delivery)
    at the end of the block, as a real commit would."""

    def context() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return context
