"""End to end: a customer writes in, an agent's reply reaches a real SMTP server, and the
customer's answer to that e-mail (In-Reply-To its Message-ID) threads into the same ticket."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from helpline.mail import services as mail
from helpline.mail.models import InboundEmail, Mailbox
from helpline.notifications.models import Kind, OutboundEmail
from helpline.tickets import services as tickets
from helpline.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def _raw(*, subject: str, body: str, message_id: str, in_reply_to: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice Acme <alice@acme.test>"
    msg["To"] = "support@helpline.test"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes()


def test_reply_to_our_email_threads_back_into_the_ticket(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    mailbox = Mailbox.objects.create(address="support@helpline.test", team=desk.l1)
    with committed():
        mail.receive_raw(
            mailbox=mailbox,
            raw_bytes=_raw(
                subject="Printer offline", body="It says offline.", message_id="<first@acme.test>"
            ),
            source="test",
        )
    ticket = Ticket.objects.get(subject="Printer offline")
    assert ticket.requester == desk.alice

    with committed():
        tickets.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent1)
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Please power-cycle it.")
    sent = OutboundEmail.objects.get(ticket=ticket, kind=Kind.REPLY)
    assert sent.status == OutboundEmail.Status.SENT
    delivered = [
        mail for mail in smtp_peer.messages if mail["Message-ID"] == f"<{sent.message_id}>"
    ]
    assert len(delivered) == 1
    received_id = delivered[0]["Message-ID"]

    # The customer answers in their mail client: the subject no longer carries the token,
    # threading must come from In-Reply-To.
    with committed():
        row = mail.receive_raw(
            mailbox=mailbox,
            raw_bytes=_raw(
                subject="Re: the printer",
                body="Done, it works now. Thanks!",
                message_id="<second@acme.test>",
                in_reply_to=received_id,
            ),
            source="test",
        )

    row.refresh_from_db()
    assert row.state == InboundEmail.State.PROCESSED, (row.rejection_reason, row.detail)
    assert row.ticket_id == ticket.pk
    assert Ticket.objects.filter(subject__icontains="printer").count() == 1
    last = Message.objects.filter(ticket=ticket).order_by("id").last()
    assert last is not None and last.author == desk.alice
    assert "Done, it works now." in last.body_text
    # ... and the assigned agent hears about it.
    notice = OutboundEmail.objects.get(ticket=ticket, kind=Kind.CUSTOMER_REPLIED)
    assert (notice.recipients, notice.ticket_message_id) == (["agent1@helpline.test"], last.pk)
