"""End to end: a customer writes in, an agent's reply reaches a real SMTP server, and the
customer's answer to that e-mail (In-Reply-To its Message-ID) threads into the same ticket;
over real SMTP both ways (smtplib as the MTA into the intake server, aiosmtpd receiving
ours); auto-replies and bounces are never answered."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from helpline.mail import services as mail
from helpline.mail.models import InboundEmail, Mailbox
from helpline.notifications import services
from helpline.notifications.models import Kind, OutboundEmail, SenderIdentity
from helpline.notifications.tests.conftest import SmtpPeer
from helpline.tickets import services as tickets
from helpline.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def _raw(
    *,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str = "",
    sender: str = "Alice Acme <alice@acme.test>",
    to: str = "support@helpline.test",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
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


@contextmanager
def _intake() -> Iterator[int]:
    """The built-in SMTP intake server on a free loopback port."""
    from helpline.mail.intake import IntakeController
    from helpline.mail.tests.peers import free_port

    port = free_port()
    controller = IntakeController("127.0.0.1", port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _deliver(port: int, sender: str, raw: bytes, to: str = "support@helpline.test") -> None:
    """An MTA delivers `raw` to our intake server (CRLF line ends, as on the wire)."""
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert client.sendmail(sender, [to], wire) == {}


def _answer(to: EmailMessage, body: str, *, headers: bool = True) -> bytes:
    """What a mail client makes of "Reply" to `to`: Re: subject, In-Reply-To, References
    (`headers=False`: a client that drops them and keeps only the subject)."""
    msg = EmailMessage()
    msg["From"] = "Alice Acme <alice@acme.test>"
    msg["To"] = str(to["From"])
    msg["Subject"] = f"Re: {to['Subject']}"
    msg["Message-ID"] = make_msgid(domain="acme.test")
    if headers:
        msg["In-Reply-To"] = str(to["Message-ID"])
        msg["References"] = " ".join(filter(None, [to["References"], to["Message-ID"]]))
    msg.set_content(f"{body}\n\nOn Monday, Helpline wrote:\n> earlier text")
    return msg.as_bytes()


@pytest.mark.django_db(transaction=True)
def test_full_loop_over_real_smtp_in_and_out(desk: Any, smtp_peer: Any) -> None:
    # given the intake server for support@, and outbound mail going to a real SMTP server
    Mailbox.objects.create(address="support@helpline.test", way=Mailbox.Way.INTAKE, team=desk.l1)
    with _intake() as port:
        # when a customer writes in through an MTA
        _deliver(
            port,
            "alice@acme.test",
            _raw(subject="Printer offline", body="It says offline.", message_id="<f@acme.test>"),
        )
        ticket = Ticket.objects.get(subject="Printer offline")
        # and an agent answers; the answer reaches the SMTP server
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Please power-cycle it.")
        sent = OutboundEmail.objects.get(ticket=ticket, kind=Kind.REPLY)
        assert sent.status == OutboundEmail.Status.SENT, sent.last_error
        (answer,) = [m for m in smtp_peer.messages if m["Message-ID"] == f"<{sent.message_id}>"]
        assert answer["In-Reply-To"] == "<f@acme.test>"
        # and the customer answers that e-mail from their mail client, through the MTA
        _deliver(port, "alice@acme.test", _answer(answer, "Done, it works now."))
        # and once more from a client that keeps only the subject (with its [#token])
        _deliver(port, "alice@acme.test", _answer(answer, "Still fine.", headers=False))
    # then both answers are messages of the same ticket, nothing else was opened
    assert Ticket.objects.count() == 1
    rows = InboundEmail.objects.order_by("id")
    assert [(row.state, row.ticket_id) for row in rows] == [("processed", ticket.pk)] * 3
    bodies = list(ticket.messages.order_by("id").values_list("body_text", flat=True))
    assert [body.split("\n")[0] for body in bodies] == [
        "It says offline.",
        "Please power-cycle it.",
        "Done, it works now.",
        "Still fine.",
    ]


@pytest.mark.django_db(transaction=True)
def test_auto_replies_and_bounces_get_no_answer_and_stop_mail_to_the_address(
    desk: Any, smtp_peer: Any
) -> None:
    # given a ticket whose receipt and a reply went out to the customer
    Mailbox.objects.create(address="support@helpline.test", way=Mailbox.Way.INTAKE)
    with _intake() as port:
        _deliver(
            port,
            "alice@acme.test",
            _raw(subject="VPN down", body="No tunnel.", message_id="<v@acme.test>"),
        )
        ticket = Ticket.objects.get(subject="VPN down")
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Which client?")
        sent = OutboundEmail.objects.get(ticket=ticket, kind=Kind.REPLY)
        outbound_before = OutboundEmail.objects.count()
        # when the customer's vacation responder answers it
        vacation = EmailMessage()
        vacation["From"] = "alice@acme.test"
        vacation["To"] = "support@helpline.test"
        vacation["Subject"] = "Out of Office: VPN down"
        vacation["Auto-Submitted"] = "auto-replied"
        vacation["In-Reply-To"] = f"<{sent.message_id}>"
        vacation["Message-ID"] = make_msgid(domain="acme.test")
        vacation.set_content("I am away until Monday.")
        _deliver(port, "", vacation.as_bytes())
        # and the customer's server bounces our reply
        bounce = (
            "From: MAILER-DAEMON@mx.acme.test\r\nTo: support@helpline.test\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            "Message-ID: <bounce-1@mx.acme.test>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
            "--d\r\nContent-Type: text/plain\r\n\r\nMailbox gone.\r\n"
            "--d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            "Final-Recipient: rfc822; alice@acme.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
            f"--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{sent.message_id}>\r\n"
            "\r\n--d--\r\n"
        ).encode()
        _deliver(port, "", bounce)
    # then neither made a ticket nor any e-mail (no auto-response, no notification)
    kinds = dict(InboundEmail.objects.values_list("subject", "kind"))
    assert kinds["Out of Office: VPN down"] == "auto_reply"
    assert kinds["Undelivered Mail Returned to Sender"] == "bounce"
    assert Ticket.objects.count() == 1
    assert OutboundEmail.objects.count() == outbound_before
    # the bounce is attached to the ticket as an internal note
    note = ticket.messages.order_by("id").last()
    assert note is not None and note.kind == Message.Kind.INTERNAL
    assert [a.filename for a in note.attachments.all()] == ["bounce.eml"]
    # and the address is failing: the next reply is not mailed to it
    tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Are you there?")
    assert OutboundEmail.objects.count() == outbound_before
    assert [str(m["To"]) for m in smtp_peer.messages] == ["alice@acme.test"] * 2


@pytest.fixture
def mailbox_peers() -> Iterator[dict[str, SmtpPeer]]:
    """An SMTP server with its own login for each of two mailboxes' sender identities."""
    peers = {
        "support": SmtpPeer(credentials=("support-mailer", "support-Passw0rd")),
        "sales": SmtpPeer(credentials=("sales-mailer", "sales-Passw0rd")),
    }
    for peer in peers.values():
        peer.start()
    try:
        yield peers
    finally:
        for peer in peers.values():
            peer.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_each_mailbox_answers_from_its_own_address_and_smtp_account(
    desk: Any, smtp_peer: Any, mailbox_peers: dict[str, SmtpPeer]
) -> None:
    # given two intake mailboxes routing to one team, each with a sender identity of its
    # own address and SMTP account, and the team's identity on the configured server
    for name, peer in mailbox_peers.items():
        Mailbox.objects.create(
            address=f"{name}@helpline.test", way=Mailbox.Way.INTAKE, team=desk.l1
        )
        services.sender_identity_save(
            actor=desk.admin,
            name=name.title(),
            address=f"{name.upper()}@Helpline.test",  # stored lowercase; matched in any case
            display_name=f"Helpline {name.title()}",
            host="127.0.0.1",
            port=peer.port,
            security=SenderIdentity.Security.NONE,
            username=f"{name}-mailer",
            password=f"{name}-Passw0rd",
            # sales@ sends no receipts; everything else on
            notify_ticket_received=name != "sales",
        )
    services.sender_identity_save(
        actor=desk.admin, name="Line 1", address="l1@helpline.test", team=desk.l1
    )
    with _intake() as port:
        # when Alice writes to support@ and Bob to sales@
        _deliver(
            port,
            "alice@acme.test",
            _raw(subject="Printer offline", body="Offline.", message_id="<p@acme.test>"),
        )
        _deliver(
            port,
            "bob@acme.test",
            _raw(
                subject="Quote for 20 seats",
                body="Price?",
                message_id="<q@acme.test>",
                sender="Bob Acme <bob@acme.test>",
                to="sales@helpline.test",
            ),
            to="sales@helpline.test",
        )
        # and Carol opens a request on the portal (no mailbox)
        on_portal = tickets.ticket_create(actor=desk.carol, subject="Login", body="Locked out")
    printer = Ticket.objects.get(subject="Printer offline")
    quote = Ticket.objects.get(subject="Quote for 20 seats")
    assert printer.team == quote.team == on_portal.team == desk.l1
    # and an agent answers both e-mail tickets
    tickets.ticket_reply(actor=desk.agent1, ticket=printer, body="Power-cycle it.")
    tickets.ticket_reply(actor=desk.agent1, ticket=quote, body="200 a seat.")

    # then each answer went out From the address the customer wrote to, through that
    # address's SMTP account
    def sent(peer: SmtpPeer) -> list[tuple[str, str, str]]:
        return [(str(m["From"]), str(m["To"]), str(m["Subject"])) for m in peer.messages]

    assert sent(mailbox_peers["support"]) == [
        (
            "Helpline Support <support@helpline.test>",
            "alice@acme.test",
            f"[#{printer.pk}] We received your request: Printer offline",
        ),
        (
            "Helpline Support <support@helpline.test>",
            "alice@acme.test",
            f"[#{printer.pk}] Re: Printer offline",
        ),
    ]
    assert sent(mailbox_peers["sales"]) == [
        (
            "Helpline Sales <sales@helpline.test>",
            "bob@acme.test",
            f"[#{quote.pk}] Re: Quote for 20 seats",
        ),
    ]
    assert mailbox_peers["support"].logins == ["support-mailer"] * 2
    assert mailbox_peers["sales"].logins == ["sales-mailer"]
    assert [envelope[0] for envelope in mailbox_peers["sales"].handler.envelopes] == [
        "sales@helpline.test"
    ]
    assert all(
        m["Message-ID"].endswith("@helpline.test>")
        for peer in mailbox_peers.values()
        for m in peer.messages
    )
    # and sales@'s switch stopped only its receipts: the portal ticket's receipt went out
    # from the team's identity through the configured server
    assert sent(smtp_peer) == [
        (
            "l1@helpline.test",
            "carol@globex.test",
            f"[#{on_portal.pk}] We received your request: Login",
        )
    ]
    assert not OutboundEmail.objects.filter(ticket=quote, kind=Kind.TICKET_RECEIVED).exists()
