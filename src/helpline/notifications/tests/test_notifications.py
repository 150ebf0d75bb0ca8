"""Who is told what: customers (received, reply, solved), agents (assigned, customer
replied); switches per user and per sender identity; no duplicates on replay."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from helpline.core import events
from helpline.core.models import OutboxEvent, ReceiverRun
from helpline.notifications import services
from helpline.notifications.models import Kind, OutboundEmail
from helpline.tickets import services as tickets
from helpline.tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def _mails(peer: Any) -> list[tuple[str, str]]:
    return [(str(mail["To"]), str(mail["Subject"]).strip()) for mail in peer.messages]


def test_customer_journey_received_reply_solved(desk: Any, smtp_peer: Any, committed: Any) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Screen", body="Flickers")
    with committed():
        tickets.ticket_reply(
            actor=desk.agent1, ticket=ticket, body="Fixed the cable.", status=Status.SOLVED
        )

    assert _mails(smtp_peer) == [
        ("alice@acme.test", f"[#{ticket.pk}] We received your request: Screen"),
        ("alice@acme.test", f"[#{ticket.pk}] Re: Screen"),
        ("alice@acme.test", f"[#{ticket.pk}] Your request is solved: Screen"),
    ]
    received, reply, solved = smtp_peer.messages
    assert received["Auto-Submitted"] == "auto-replied"
    assert solved["Auto-Submitted"] == "auto-generated"
    assert solved["X-Auto-Response-Suppress"] == "All"
    assert reply["Auto-Submitted"] is None
    # The received notification carries the link to follow the request without a password.
    text = received.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in text.split() if f"/requests/{ticket.pk}/follow/" in word)
    page = Client().get(link.removeprefix(settings.BASE_URL))
    assert page.status_code == 200
    assert "Flickers" in page.content.decode()
    # Solved threads under the conversation too.
    assert solved["In-Reply-To"] == reply["Message-ID"]


def test_customer_solving_their_own_request_gets_no_mail(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Screen", body="Flickers")
    with committed():
        tickets.ticket_change_status(actor=desk.alice, ticket=ticket, status=Status.SOLVED)
    assert [kind for (kind,) in OutboundEmail.objects.values_list("kind")] == [Kind.TICKET_RECEIVED]


def test_agents_hear_of_assignment_and_customer_replies(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Keyboard", body="Sticky keys")
    with committed():
        tickets.ticket_assign(actor=desk.supervisor, ticket=ticket, assignee=desk.agent1)
    with committed():
        tickets.ticket_watch(actor=desk.agent2, ticket=ticket, user=desk.agent2)
        tickets.ticket_reply(actor=desk.alice, ticket=ticket, body="Also the space bar")

    assert _mails(smtp_peer)[1:] == [
        ("agent1@helpline.test", f"[#{ticket.pk}] Assigned to you: Keyboard"),
        ("agent1@helpline.test", f"[#{ticket.pk}] New reply from Alice Acme: Keyboard"),
        ("agent2@helpline.test", f"[#{ticket.pk}] New reply from Alice Acme: Keyboard"),
    ]
    assigned, replied, _watcher = smtp_peer.messages[1:]
    assert assigned["Auto-Submitted"] == "auto-generated"
    assert f"/desk/tickets/{ticket.pk}/" in assigned.get_body(("plain",)).get_content()
    assert "Also the space bar" in replied.get_body(("plain",)).get_content()


def test_taking_a_ticket_yourself_sends_nothing(desk: Any, smtp_peer: Any, committed: Any) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Keyboard", body="Sticky")
    with committed():
        tickets.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent1)
    assert not OutboundEmail.objects.filter(kind=Kind.ASSIGNED).exists()


def test_user_switches_notifications_off(desk: Any, smtp_peer: Any, committed: Any) -> None:
    services.preference_set(actor=desk.alice, changes={"ticket_received": False, "reply": False})
    services.preference_set(actor=desk.agent1, changes={"assigned": False})
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Laptop", body="Slow")
    with committed():
        tickets.ticket_assign(actor=desk.supervisor, ticket=ticket, assignee=desk.agent1)
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Restart it")
    with committed():
        tickets.ticket_reply(actor=desk.alice, ticket=ticket, body="Done, still slow")

    assert _mails(smtp_peer) == [
        ("agent1@helpline.test", f"[#{ticket.pk}] New reply from Alice Acme: Laptop")
    ]


def test_sender_identity_switches_notifications_off(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    services.sender_identity_save(
        actor=desk.admin,
        name="L1",
        address="l1@helpline.test",
        team=desk.l1,
        notify_ticket_received=False,
        notify_assigned=False,
    )
    services.sender_identity_save(
        actor=desk.admin, name="Default", address="help@helpline.test", is_default=True
    )
    with committed():
        on_l1 = tickets.ticket_create(actor=desk.alice, subject="On L1", body="x")
    with committed():
        tickets.ticket_assign(actor=desk.supervisor, ticket=on_l1, assignee=desk.agent1)
    with committed():
        on_finance = tickets.ticket_create(
            actor=desk.agent1,
            requester=desk.bob,
            subject="Invoice",
            body="y",
            team=desk.finance_team,
        )

    assert _mails(smtp_peer) == [
        ("bob@acme.test", f"[#{on_finance.pk}] We received your request: Invoice"),
    ]
    assert smtp_peer.messages[0]["From"] == "help@helpline.test"


def test_replayed_event_sends_no_second_email(desk: Any, smtp_peer: Any, committed: Any) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Phone", body="No tone")
    record = OutboxEvent.objects.get(type="ticket.created", aggregate_id=str(ticket.pk))
    ReceiverRun.objects.filter(event=record).delete()
    OutboxEvent.objects.filter(pk=record.pk).update(dispatched_at=None)

    with committed():
        events.dispatch(record.pk)

    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1
    assert len(smtp_peer.raw) == 1


def test_inactive_and_staff_requesters_get_no_customer_mail(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        tickets.ticket_create(
            actor=desk.agent1, requester=desk.agent2, subject="Internal", body="For L2"
        )
    desk.dave.is_active = False
    desk.dave.save(update_fields=["is_active"])
    with committed():
        tickets.ticket_create(actor=desk.agent1, requester=desk.dave, subject="Old", body="x")
    assert smtp_peer.raw == []


def test_people_in_cc_get_replies_without_the_requesters_follow_link(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    with committed():
        ticket = tickets.ticket_create(actor=desk.alice, subject="Badge", body="Lost")
        tickets.ticket_watch(actor=desk.agent1, ticket=ticket, user=desk.bob)
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="New badge is ready")

    to_alice, to_bob = smtp_peer.messages[1:]
    assert (to_alice["To"], to_bob["To"]) == ("alice@acme.test", "bob@acme.test")
    assert "/follow/" in to_alice.get_body(("plain",)).get_content()
    bob_text = to_bob.get_body(("plain",)).get_content()
    assert "/follow/" not in bob_text
    assert f"/requests/{ticket.pk}/" in bob_text
    # Both copies thread under the same conversation.
    assert to_alice["In-Reply-To"] == to_bob["In-Reply-To"] == smtp_peer.messages[0]["Message-ID"]


def test_no_mail_to_our_own_addresses(desk: Any, smtp_peer: Any, committed: Any) -> None:
    from helpline.accounts import services as accounts

    services.sender_identity_save(actor=desk.admin, name="L1", address="l1@helpline.test")
    loops = [
        accounts.user_create(actor=None, email=address, display_name="Loop")
        for address in ("support@helpline.test", "L1@helpline.test")
    ]
    with committed():
        for person in loops:
            tickets.ticket_create(actor=person, subject="Looping", body="x")
    assert smtp_peer.raw == []
    assert not OutboundEmail.objects.exists()


def test_addresses_the_inbound_app_marks_failing_get_no_mail(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    """Bounces recorded by inbound mail (`SenderStatus.failing`) stop mail to the address."""
    from helpline.mail.models import SenderStatus

    SenderStatus.objects.create(address="bob@acme.test", failing=True, bounce_count=1)
    with committed():
        tickets.ticket_create(actor=desk.bob, subject="Bounced before", body="x")
        tickets.ticket_create(actor=desk.alice, subject="Fine", body="y")
    assert [str(mail["To"]) for mail in smtp_peer.messages] == ["alice@acme.test"]


def test_replies_answer_the_customers_latest_email(
    desk: Any, smtp_peer: Any, committed: Any
) -> None:
    """In-Reply-To is the customer's latest e-mail; References hold all of theirs, then ours."""
    from email.message import EmailMessage

    from helpline.mail import services as mail
    from helpline.mail.models import Mailbox

    mailbox = Mailbox.objects.create(address="support@helpline.test", team=desk.l1)

    def write(message_id: str, in_reply_to: str = "") -> None:
        msg = EmailMessage()
        msg["From"] = "alice@acme.test"
        msg["To"] = mailbox.address
        msg["Subject"] = "Mail"
        msg["Message-ID"] = message_id
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
        msg.set_content(f"text of {message_id}")
        with committed():
            mail.receive_raw(mailbox=mailbox, raw_bytes=msg.as_bytes(), source="test")

    write("<first@acme.test>")
    write("<second@acme.test>", in_reply_to="<first@acme.test>")
    ticket = Ticket.objects.get(subject="Mail")
    assert ticket.messages.count() == 2
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Answer")
    received, reply = smtp_peer.messages
    assert received["In-Reply-To"] == "<first@acme.test>"
    assert reply["In-Reply-To"] == "<second@acme.test>"
    assert reply["References"].split() == [
        "<first@acme.test>",
        "<second@acme.test>",
        received["Message-ID"],
    ]
