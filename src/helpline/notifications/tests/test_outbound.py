"""Agent replies go out over real SMTP with threading headers, localized, with attachments."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.accounts.models import User
from helpline.notifications.models import Kind, OutboundEmail
from helpline.tickets import services as tickets
from helpline.tickets.services import AttachmentIn

pytestmark = pytest.mark.django_db


def _set_language(user: User, language: str) -> None:
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def test_agent_reply_reaches_the_customer_with_threading_headers(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Printer jams", body="Paper jam")
    received = OutboundEmail.objects.get(ticket=ticket, kind=Kind.TICKET_RECEIVED)
    assert received.status == OutboundEmail.Status.SENT

    with committed():
        tickets.ticket_reply(
            actor=desk.agent1,
            ticket=ticket,
            body="Open tray 2 and pull the sheet.",
            attachments=[
                AttachmentIn("схема лотка.pdf", "application/pdf", b"%PDF-1.4 tray"),
                AttachmentIn("photo.png", "image/png", b"\x89PNG\r\n\x1a\nDATA"),
            ],
        )

    reply = OutboundEmail.objects.get(ticket=ticket, kind=Kind.REPLY)
    assert reply.status == OutboundEmail.Status.SENT
    assert reply.attempts == 1
    assert reply.sent_at is not None
    assert reply.message_id.endswith("@helpline.test")
    assert len(smtp_peer.raw) == 2
    mail = smtp_peer.messages[1]
    assert mail["Message-ID"] == f"<{reply.message_id}>"
    assert mail["In-Reply-To"] == f"<{received.message_id}>"
    assert mail["References"] == f"<{received.message_id}>"
    assert f"[#{ticket.pk}]" in mail["Subject"]
    assert mail["To"] == "alice@acme.test"
    assert mail["From"] == "Helpline <support@helpline.test>"
    assert mail["Auto-Submitted"] is None  # a person wrote it
    assert smtp_peer.handler.envelopes[1] == ("support@helpline.test", ["alice@acme.test"])
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert "Open tray 2 and pull the sheet." in text.get_content()
    assert "Open tray 2 and pull the sheet." in html.get_content()
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert files == {"схема лотка.pdf": b"%PDF-1.4 tray", "photo.png": b"\x89PNG\r\n\x1a\nDATA"}

    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Did it help?")
    second = OutboundEmail.objects.filter(ticket=ticket, kind=Kind.REPLY).last()
    assert second is not None
    mail = smtp_peer.messages[2]
    assert mail["In-Reply-To"] == f"<{reply.message_id}>"
    assert mail["References"].split() == [f"<{received.message_id}>", f"<{reply.message_id}>"]


@pytest.mark.parametrize(
    ("language", "greeting", "footer"),
    [
        ("ru", "Здравствуйте, Alice Acme!", "Ответьте на это письмо"),
        ("zh-hans", "Alice Acme，您好！", "直接回复此邮件即可继续沟通"),
        ("", "Hello Alice Acme,", "Reply to this e-mail to answer"),
    ],
)
def test_emails_are_in_the_recipients_language(
    desk: Any, smtp_peer: Any, committed: Any, language: str, greeting: str, footer: str
) -> None:
    _set_language(desk.alice, language)
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Принтер 打印机", body="Help")
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Ответ 回答 answer")

    received, reply = smtp_peer.messages
    assert greeting in received.get_body(preferencelist=("plain",)).get_content()
    assert greeting in received.get_body(preferencelist=("html",)).get_content()
    assert received["Subject"].strip().startswith(f"[#{ticket.pk}]")
    assert "Принтер 打印机" in received["Subject"]
    assert received["Auto-Submitted"] == "auto-replied"
    body = reply.get_body(preferencelist=("plain",)).get_content()
    assert "Ответ 回答 answer" in body
    assert footer in body


def test_internal_notes_and_customer_replies_do_not_mail_the_customer(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="VPN", body="Down")
    with committed():
        tickets.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Check the gateway")
        tickets.ticket_reply(actor=desk.alice, ticket=ticket, body="Still down")

    kinds = list(OutboundEmail.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == [Kind.TICKET_RECEIVED]  # nobody is assigned: no agent to tell
    assert [mail["To"] for mail in smtp_peer.messages] == ["alice@acme.test"]
