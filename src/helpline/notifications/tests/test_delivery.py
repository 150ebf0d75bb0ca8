"""Delivery over a real SMTP peer: refusals, retries with backoff, a downed server,
sender identities with their own SMTP account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from helpline.mail import services as mail
from helpline.mail.models import Mailbox
from helpline.notifications import services
from helpline.notifications.models import Kind, OutboundEmail, SenderIdentity
from helpline.notifications.tasks import send_due_outbound
from helpline.tickets import services as tickets
from helpline.tickets.models import AuditEntry, Ticket

pytestmark = [
    pytest.mark.django_db,
    # The test server takes a login without TLS on loopback; aiosmtpd warns about that.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


def _make_due(row: OutboundEmail) -> None:
    """Time passes: the next attempt of `row` is due."""
    OutboundEmail.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def _ticket(desk: Any, committed: Any) -> Any:
    with committed():
        return tickets.ticket_create(actor=desk.alice, subject="Router", body="No light")


def test_temporary_refusal_retries_with_backoff_then_fails_with_the_answer(
    desk: Any, smtp_peer: Any, committed: Any, settings: Any
) -> None:
    settings.HELPLINE_MAIL_MAX_ATTEMPTS = 3
    smtp_peer.answer_rcpt("451 4.7.1 Greylisted, try again later")
    ticket = _ticket(desk, committed)
    row = OutboundEmail.objects.get(ticket=ticket, kind=Kind.TICKET_RECEIVED)

    assert row.status == OutboundEmail.Status.RETRYING
    assert row.attempts == 1
    assert row.last_error == "451 4.7.1 Greylisted, try again later"
    assert row.next_attempt_at is not None
    first_delay = row.next_attempt_at - row.updated_at
    assert timedelta(seconds=59) < first_delay <= timedelta(seconds=60)

    send_due_outbound.call_local()  # not due yet: nothing happens
    row.refresh_from_db()
    assert row.attempts == 1

    _make_due(row)
    send_due_outbound.call_local()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.RETRYING, 2)
    assert row.next_attempt_at is not None
    second_delay = row.next_attempt_at - row.updated_at
    assert timedelta(seconds=119) < second_delay <= timedelta(seconds=120)

    _make_due(row)
    send_due_outbound.call_local()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.FAILED, 3)
    assert row.last_error == "451 4.7.1 Greylisted, try again later"
    assert row.next_attempt_at is None
    assert smtp_peer.raw == []
    audit = AuditEntry.objects.get(ticket=ticket, action="email_failed")
    assert audit.note == "451 4.7.1 Greylisted, try again later"
    assert audit.after == {"outbound": row.pk, "to": ["alice@acme.test"], "kind": "ticket_received"}


def test_permanent_refusal_fails_at_once_with_the_answer(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    smtp_peer.answer_rcpt("550 5.1.1 <alice@acme.test>: Recipient address rejected")
    ticket = _ticket(desk, committed)
    row = OutboundEmail.objects.get(ticket=ticket)

    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == 1
    assert row.last_error == "550 5.1.1 <alice@acme.test>: Recipient address rejected"
    assert services.due_ids() == []


def test_downed_server_is_retried_later_and_succeeds(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    smtp_peer.stop()
    ticket = _ticket(desk, committed)
    row = OutboundEmail.objects.get(ticket=ticket)
    assert row.status == OutboundEmail.Status.RETRYING
    assert "ConnectionRefusedError" in row.last_error

    smtp_peer.start()
    _make_due(row)
    send_due_outbound.call_local()

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutboundEmail.Status.SENT, 2, "")
    assert row.sent_at is not None
    assert [mail["Message-ID"] for mail in smtp_peer.messages] == [f"<{row.message_id}>"]


def test_a_claimed_email_is_not_sent_twice(desk: Any, smtp_peer: Any, committed: Any) -> None:
    smtp_peer.stop()
    ticket = _ticket(desk, committed)
    row = OutboundEmail.objects.get(ticket=ticket)
    smtp_peer.start()
    _make_due(row)

    assert services._claim(row.pk, timezone.now())  # a worker holds the lease
    assert services.deliver(row.pk) is None  # a second worker backs off
    assert services.due_ids() == []  # the catch-up task leaves it to the lease holder
    OutboundEmail.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )  # the first worker died: its lease ran out
    assert services.due_ids() == [row.pk]
    send_due_outbound.call_local()
    assert len(smtp_peer.raw) == 1
    assert services.deliver(row.pk) is None  # sent: nothing more to do
    assert len(smtp_peer.raw) == 1


def test_team_identity_sends_through_its_own_smtp_account(
    desk: Any, smtp_peer: Any, auth_smtp_peer: Any, committed: Any
) -> None:
    identity = services.sender_identity_save(
        actor=desk.admin,
        name="Line 1",
        address="l1@support.example",
        display_name="Helpline L1",
        team=desk.l1,
        host="127.0.0.1",
        port=auth_smtp_peer.port,
        security=SenderIdentity.Security.NONE,
        username="mailer",
        password="s3cret-Passw0rd",
    )
    assert "s3cret" not in identity.password_encrypted
    ticket = _ticket(desk, committed)

    row = OutboundEmail.objects.get(ticket=ticket)
    assert row.status == OutboundEmail.Status.SENT, row.last_error
    assert row.identity == identity
    assert smtp_peer.raw == []  # not the default server
    assert auth_smtp_peer.logins == ["mailer"]
    (mail,) = auth_smtp_peer.messages
    assert mail["From"] == "Helpline L1 <l1@support.example>"
    assert mail["Message-ID"].endswith("@support.example>")
    assert auth_smtp_peer.handler.envelopes == [("l1@support.example", ["alice@acme.test"])]


def test_wrong_smtp_password_is_recorded_without_the_password(
    desk: Any, smtp_peer: Any, auth_smtp_peer: Any, committed: Any
) -> None:
    services.sender_identity_save(
        actor=desk.admin,
        name="Default",
        address="help@support.example",
        is_default=True,
        host="127.0.0.1",
        port=auth_smtp_peer.port,
        security=SenderIdentity.Security.NONE,
        username="mailer",
        password="wrong-horse",
    )
    ticket = _ticket(desk, committed)
    row = OutboundEmail.objects.get(ticket=ticket)
    assert row.status == OutboundEmail.Status.RETRYING
    assert row.last_error.startswith("535 ")
    assert "wrong-horse" not in row.last_error


def test_identity_choice_team_then_default_then_settings(desk: Any) -> None:
    ticket = tickets.ticket_create(actor=desk.alice, subject="Router", body="No light")
    assert ticket.team == desk.l1
    assert services.identity_for_ticket(ticket) is None
    default = services.sender_identity_save(
        actor=desk.admin, name="Default", address="help@support.example", is_default=True
    )
    assert services.identity_for_ticket(ticket) == default
    team = services.sender_identity_save(
        actor=desk.admin, name="L1", address="l1@support.example", team=desk.l1
    )
    assert services.identity_for_ticket(ticket) == team
    services.sender_identity_save(actor=desk.admin, identity=team, is_active=False)
    assert services.identity_for_ticket(ticket) == default
    other = services.sender_identity_save(
        actor=desk.admin, name="New default", address="new@support.example", is_default=True
    )
    default.refresh_from_db()
    assert (default.is_default, services.identity_for_ticket(ticket)) == (False, other)


def test_identity_choice_mailbox_written_to_then_team_then_default(
    desk: Any, committed: Any
) -> None:
    # given a ticket written to sales@, which routes to L1 like every mailbox here
    sales = Mailbox.objects.create(address="sales@support.example", team=desk.l1)
    with committed():
        mail.receive_raw(
            mailbox=sales,
            raw_bytes=(
                b"From: alice@acme.test\r\nTo: sales@support.example\r\n"
                b"Subject: Quote\r\nMessage-ID: <q@acme.test>\r\n\r\nPrice?\r\n"
            ),
            source="test",
        )
    ticket = Ticket.objects.get(subject="Quote")
    default = services.sender_identity_save(
        actor=desk.admin, name="Default", address="help@support.example", is_default=True
    )
    team = services.sender_identity_save(
        actor=desk.admin, name="L1", address="l1@support.example", team=desk.l1
    )
    assert services.identity_for_ticket(ticket) == team
    # when sales@ gets an identity of its own, it answers the mailbox's tickets
    own = services.sender_identity_save(
        actor=desk.admin, name="Sales", address="Sales@Support.example"
    )
    assert services.identity_for_ticket(ticket) == own
    # even after the ticket moved to another team
    Ticket.objects.filter(pk=ticket.pk).update(team=desk.finance_team)
    ticket.refresh_from_db()
    assert services.identity_for_ticket(ticket) == own
    # an inactive one is skipped: the team's, else the default
    services.sender_identity_save(actor=desk.admin, identity=own, is_active=False)
    assert services.identity_for_ticket(ticket) == default
    Ticket.objects.filter(pk=ticket.pk).update(team=desk.l1)
    ticket.refresh_from_db()
    assert services.identity_for_ticket(ticket) == team


def test_emails_queued_together_are_delivered_together_each_with_its_outcome(
    desk: Any, smtp_peer: Any
) -> None:
    # Given receipts to three customers queued together (not delivered yet), and a fourth
    # e-mail that another worker holds
    made = [
        tickets.ticket_create(actor=customer, subject="Router", body="No light")
        for customer in (desk.alice, desk.bob, desk.carol, desk.dave)
    ]
    rows = services.queue_emails(
        kind=Kind.TICKET_RECEIVED,
        requests=[
            services.EmailRequest(ticket=t, recipient=t.requester, dedupe="batch") for t in made
        ],
    )
    assert all(row is not None for row in rows)
    ids = [row.pk for row in rows if row is not None]
    assert services._claim(ids[3], timezone.now())

    # and a server that greylists bob only
    async def rcpt(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == "bob@acme.test":
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_peer.handler.handle_RCPT = rcpt
    # When they are delivered together
    attempted = services.deliver_many(ids)
    # Then each got one attempt with its own outcome; the held one was left alone
    assert [row.pk for row in attempted] == ids[:3]
    states = {
        row.recipients[0]: (row.status, row.attempts, row.last_error)
        for row in OutboundEmail.objects.filter(pk__in=ids)
    }
    assert states == {
        "alice@acme.test": ("sent", 1, ""),
        "bob@acme.test": ("retrying", 1, "451 4.7.1 Greylisted, try again later"),
        "carol@globex.test": ("sent", 1, ""),
        "dave@example.test": ("queued", 0, ""),
    }
    assert sorted(mail["To"] for mail in smtp_peer.messages) == [
        "alice@acme.test",
        "carol@globex.test",
    ]
    # A second delivery of the same batch sends nothing again (bob is not due yet)
    assert services.deliver_many(ids) == []
    assert len(smtp_peer.raw) == 2


def test_one_email_delivered_alone_comes_back_as_stored(desk: Any, smtp_peer: Any) -> None:
    # Given two receipts queued (not delivered yet), the second to an address the server
    # refuses for good
    made = [
        tickets.ticket_create(actor=customer, subject="Router", body="No light")
        for customer in (desk.alice, desk.bob)
    ]
    sent_row, refused_row = services.queue_emails(
        kind=Kind.TICKET_RECEIVED,
        requests=[
            services.EmailRequest(ticket=t, recipient=t.requester, dedupe="alone") for t in made
        ],
    )
    assert sent_row is not None and refused_row is not None

    async def rcpt(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == "bob@acme.test":
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_peer.handler.handle_RCPT = rcpt
    # When each is delivered on its own
    sent = services.deliver(sent_row.pk)
    refused = services.deliver(refused_row.pk)
    # Then each returned e-mail holds the outcome as stored
    fields = ("status", "attempts", "sent_at", "next_attempt_at", "last_error", "updated_at")
    for returned, row in ((sent, sent_row), (refused, refused_row)):
        assert returned is not None
        row.refresh_from_db()
        assert [getattr(returned, f) for f in fields] == [getattr(row, f) for f in fields]
    assert (sent_row.status, sent_row.attempts, sent_row.last_error) == ("sent", 1, "")
    assert sent_row.sent_at is not None and sent_row.next_attempt_at is None
    assert (refused_row.status, refused_row.attempts) == ("failed", 1)
    assert refused_row.last_error == "550 5.1.1 No such user"
    assert AuditEntry.objects.filter(ticket=made[1], action="email_failed").count() == 1
    assert [mail["To"] for mail in smtp_peer.messages] == ["alice@acme.test"]
