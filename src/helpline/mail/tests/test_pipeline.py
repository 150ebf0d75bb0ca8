"""The pipeline: raw stored first, then one ticket message per message, threaded right."""

from __future__ import annotations

from typing import Any

from django.test import TestCase, override_settings

from helpline.mail import services
from helpline.mail.models import InboundEmail, SenderStatus
from helpline.tickets import services as tickets
from helpline.tickets.models import Message, Status, Ticket, TicketLink

from .conftest import build_email


def _receive(mailbox: Any, raw: bytes) -> Any:
    """Receive as a way in does; the processing task runs after commit (here: at once)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        row = services.receive_raw(mailbox=mailbox, raw_bytes=raw, source="test")
    row.refresh_from_db()
    return row


def test_new_message_makes_a_ticket_in_the_mailbox_team(desk: Any, mailbox: Any) -> None:
    raw = build_email(sender="New Person <new.person@acme.test>", body="Hello there")
    row = _receive(mailbox, raw)
    assert row.state == InboundEmail.State.PROCESSED
    assert bytes(row.raw) == raw
    ticket = row.ticket
    assert ticket.channel == "email" and ticket.team == desk.l1
    assert ticket.subject == "Printer on fire"
    assert ticket.requester.email == "new.person@acme.test"
    assert ticket.requester.display_name == "New Person"
    assert row.ticket_message.body_text == "Hello there"
    assert row.ticket_message.author == ticket.requester


def test_organisation_by_domain(desk: Any, mailbox: Any) -> None:
    desk.acme.domains = ["acme.test"]
    desk.acme.match_by_domain = True
    desk.acme.save()
    row = _receive(mailbox, build_email(sender="zed@acme.test"))
    assert row.ticket.requester.organization == desk.acme
    assert row.ticket.organization == desk.acme


def test_same_message_twice_is_one_ticket_message(desk: Any, mailbox: Any) -> None:
    raw = build_email(message_id="<dup@example.test>")
    first = _receive(mailbox, raw)
    again = _receive(mailbox, raw)
    resent = _receive(mailbox, raw.replace(b"It is burning.", b"It is burning!"))
    assert first.pk == again.pk == resent.pk
    assert Message.objects.count() == 1
    assert InboundEmail.objects.count() == 1
    services.process_inbound(first.pk)
    assert Message.objects.count() == 1


def test_same_bytes_without_a_message_id_are_one_ticket_message(desk: Any, mailbox: Any) -> None:
    raw = (
        b"From: dave@example.test\r\nTo: support@helpline.test\r\nSubject: No id\r\n\r\n"
        b"A mail program that sets no Message-ID.\r\n"
    )
    first = _receive(mailbox, raw)
    again = _receive(mailbox, raw)
    other = _receive(mailbox, raw.replace(b"program", b"client"))
    assert first.message_id == "" and first.pk == again.pk != other.pk
    assert InboundEmail.objects.count() == 2
    assert Message.objects.count() == 2


def test_reply_threads_by_in_reply_to_and_reopens(desk: Any, mailbox: Any) -> None:
    first = _receive(mailbox, build_email(message_id="<one@example.test>"))
    ticket = first.ticket
    tickets.ticket_reply(
        actor=desk.agent1, ticket=ticket, body="Any news?", status=Status.PENDING_CUSTOMER
    )
    reply = _receive(
        mailbox,
        build_email(subject="Something else", in_reply_to="<one@example.test>", body="Yes!"),
    )
    assert reply.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.messages.count() == 3


def test_reply_threads_by_ticket_token_only_for_people_on_the_ticket(
    desk: Any, mailbox: Any
) -> None:
    ticket = _receive(mailbox, build_email()).ticket
    token = f"Re: [#{ticket.pk}] Printer on fire"
    same = _receive(mailbox, build_email(subject=token, body="more"))
    stranger = _receive(mailbox, build_email(subject=token, sender="evil@example.test"))
    assert same.ticket == ticket
    assert stranger.ticket != ticket


def test_subject_and_sender_match_is_conservative(desk: Any, mailbox: Any) -> None:
    ticket = _receive(mailbox, build_email(subject="Invoice 42 missing")).ticket
    reply = _receive(mailbox, build_email(subject="RE: Invoice 42 missing", body="again"))
    other = _receive(mailbox, build_email(subject="RE: Invoice 42 missing", sender="x@y.test"))
    fresh = _receive(mailbox, build_email(subject="Invoice 42 missing", body="no prefix"))
    assert reply.ticket == ticket
    assert other.ticket != ticket
    assert fresh.ticket != ticket


def test_reply_to_closed_ticket_opens_linked_follow_up(desk: Any, mailbox: Any) -> None:
    ticket = _receive(mailbox, build_email(message_id="<c1@example.test>")).ticket
    tickets.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.SOLVED)
    tickets.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.CLOSED)
    reply = _receive(mailbox, build_email(in_reply_to="<c1@example.test>", body="again"))
    assert reply.state == InboundEmail.State.PROCESSED
    assert reply.ticket != ticket
    link = TicketLink.objects.get()
    assert (link.source, link.target, link.kind) == (reply.ticket, ticket, "follow_up")
    mailbox.follow_up_on_closed = False
    mailbox.save()
    again = _receive(mailbox, build_email(in_reply_to="<c1@example.test>", body="3rd"))
    assert again.state == InboundEmail.State.REJECTED
    assert again.rejection_reason == "ticket_closed"


def test_ccs_become_watchers(desk: Any, mailbox: Any) -> None:
    row = _receive(
        mailbox,
        build_email(cc="alice@acme.test, support@helpline.test", to="support@helpline.test"),
    )
    assert list(row.ticket.watchers.values_list("email", flat=True)) == ["alice@acme.test"]
    mailbox.cc_as_watchers = False
    mailbox.save()
    row = _receive(mailbox, build_email(cc="bob@acme.test"))
    assert row.ticket.watchers.count() == 0


def test_auto_replies_never_make_tickets(desk: Any, mailbox: Any) -> None:
    row = _receive(mailbox, build_email(headers={"Auto-Submitted": "auto-replied"}))
    assert row.state == InboundEmail.State.REJECTED
    assert row.rejection_reason == "auto_reply"
    assert row.kind == InboundEmail.Kind.AUTO_REPLY
    assert Ticket.objects.count() == 0


def _bounce(original_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.test\r\nTo: support@helpline.test\r\n"
        "Subject: Undelivered Mail\r\nMessage-ID: <b1@mx.example.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
        "--d\r\nContent-Type: text/plain\r\n\r\nsorry\r\n"
        "--d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{original_id}>\r\n\r\n"
        "--d--\r\n"
    ).encode()


def test_bounce_becomes_internal_note_and_marks_address_failing(desk: Any, mailbox: Any) -> None:
    ticket = _receive(mailbox, build_email(message_id="<orig@example.test>")).ticket
    row = _receive(mailbox, _bounce("orig@example.test"))
    assert row.state == InboundEmail.State.PROCESSED and row.kind == "bounce"
    assert row.ticket == ticket
    note = row.ticket_message
    assert note.kind == Message.Kind.INTERNAL and "gone@example.test" in note.body_text
    assert note.attachments.get().filename == "bounce.eml"
    assert SenderStatus.objects.get(address="gone@example.test").failing
    assert Ticket.objects.count() == 1


def test_unmatched_bounce_is_rejected_with_reason(desk: Any, mailbox: Any) -> None:
    row = _receive(mailbox, _bounce("unknown@example.test"))
    assert (row.state, row.rejection_reason) == ("rejected", "bounce_unmatched")
    assert Ticket.objects.count() == 0


@override_settings(HELPLINE_MAIL_SENDER_RATE="2/3600")
def test_sender_rate_limit_stops_mail_storms(desk: Any, mailbox: Any) -> None:
    rows = [_receive(mailbox, build_email(subject=f"storm {i}")) for i in range(4)]
    assert [r.state for r in rows] == ["processed", "processed", "rejected", "rejected"]
    assert rows[-1].rejection_reason == "rate_limited"


@override_settings(HELPLINE_MAX_ATTACHMENT_BYTES=10)
def test_oversize_attachment_is_kept_raw_with_notice(desk: Any, mailbox: Any) -> None:
    raw = build_email(
        attachments=[
            ("big.bin", "application/octet-stream", b"x" * 50),
            ("s.txt", "text/plain", b"ok"),
        ]
    )
    row = _receive(mailbox, raw)
    message = row.ticket_message
    assert [a.filename for a in message.attachments.all()] == ["s.txt"]
    assert "big.bin" in message.body_text and "original e-mail" in message.body_text
    assert bytes(row.raw) == raw


@override_settings(HELPLINE_MAIL_MAX_MESSAGE_BYTES=100)
def test_oversize_message_makes_a_ticket_with_notice(desk: Any, mailbox: Any) -> None:
    row = _receive(mailbox, build_email(body="x" * 500))
    assert row.state == "processed"
    assert "larger than the limit" in row.ticket_message.body_text


def test_inline_image_is_served_to_who_sees_the_ticket(
    desk: Any, mailbox: Any, client: Any
) -> None:
    raw = (
        b"From: dave@example.test\r\nTo: support@helpline.test\r\nSubject: pic\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n'
        b'--r\r\nContent-Type: text/html\r\n\r\n<p>See <img src="cid:logo@x"></p>\r\n'
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"
    )
    row = _receive(mailbox, raw)
    url = f"/mail/inbound/{row.pk}/inline/?cid=logo%40x"
    assert url in row.ticket_message.body_html
    client.force_login(desk.dave)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(desk.carol)
    assert client.get(url).status_code == 404
    assert client.get(f"/mail/inbound/{row.pk}/raw/").status_code == 404
    client.force_login(desk.admin)
    assert client.get(f"/mail/inbound/{row.pk}/raw/").content == raw


def test_failed_processing_is_recorded_and_replayable(
    desk: Any, mailbox: Any, monkeypatch: Any
) -> None:
    row, _created = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_thread", boom)
    services.process_inbound(row.pk)
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 1)
    assert "database went away" in row.detail
    assert Ticket.objects.count() == 0
    monkeypatch.undo()
    assert services.replay(states=["failed"]) == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("processed", 2)
    assert services.replay(ids=[row.pk]) == []
    assert Message.objects.count() == 1


def test_reply_to_mail_we_sent_threads_back(desk: Any, mailbox: Any) -> None:
    from django.core import mail as django_mail

    from helpline.notifications.models import OutboundEmail

    ticket = _receive(mailbox, build_email(message_id="<first@example.test>")).ticket
    with TestCase.captureOnCommitCallbacks(execute=True):
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="Try turning it off.")
    sent = OutboundEmail.objects.filter(ticket=ticket).order_by("id").last()
    assert sent is not None, "the agent's reply was not sent to the customer"
    assert sent.message_id and len(django_mail.outbox) >= 1
    reply = _receive(
        mailbox,
        build_email(subject="Thanks", in_reply_to=f"<{sent.message_id}>", body="Done, thanks"),
    )
    assert reply.ticket == ticket
    assert ticket.messages.count() == 3


def test_lost_or_failed_processing_is_picked_up_again(desk: Any, mailbox: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from helpline.mail.tasks import retry_stale_inbound

    stuck, _c = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    fresh, _c = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    poison, _c = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    old = timezone.now() - timedelta(minutes=5)
    InboundEmail.objects.filter(pk=stuck.pk).update(state="processing", updated_at=old)
    InboundEmail.objects.filter(pk=poison.pk).update(state="failed", attempts=5, updated_at=old)
    assert services.stale_ids(older_than=timedelta(minutes=2)) == [stuck.pk]
    retry_stale_inbound.call_local()
    states = dict(InboundEmail.objects.values_list("pk", "state"))
    assert states == {stuck.pk: "processed", fresh.pk: "received", poison.pk: "failed"}
