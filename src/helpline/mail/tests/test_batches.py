"""Batches: messages that arrive together are stored together and processed a batch per
transaction, with the same outcome as one by one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase, override_settings

from helpline.accounts.models import User
from helpline.core.models import OutboxEvent
from helpline.mail import services
from helpline.mail.models import InboundEmail, Mailbox
from helpline.notifications.models import Kind, OutboundEmail
from helpline.tickets import services as tickets
from helpline.tickets.models import Message, Ticket

from .conftest import build_email


def test_a_batch_is_stored_once_and_processed_in_order(desk: Any, mailbox: Any) -> None:
    first = build_email(subject="Printer", message_id="<a@example.test>")
    reply = build_email(subject="Still burning", in_reply_to="<a@example.test>", body="More")
    resent = build_email(subject="Printer again", message_id="<a@example.test>")
    earlier, _created = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    # when four messages arrive together: one new, its reply, the first one again (same
    # bytes, then same Message-ID) and one stored before
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = services.receive_many(
            mailbox=mailbox,
            raws=[first, reply, first, resent, bytes(earlier.raw)],
            source="test",
        )
    # then only the two new ones are stored, the duplicates name the first row
    rows = [row for row, _created in results]
    assert [created for _row, created in results] == [True, True, False, False, False]
    assert rows[2].pk == rows[3].pk == rows[0].pk and rows[4].pk == earlier.pk
    assert InboundEmail.objects.count() == 3
    # and the queued task processes every pending message once, oldest first: the one
    # stored before (not processed yet) and the two new ones (the reply threads into the
    # ticket made by the message before it in the same batch)
    states = dict(InboundEmail.objects.values_list("pk", "state"))
    assert states == {rows[0].pk: "processed", rows[1].pk: "processed", earlier.pk: "processed"}
    assert Ticket.objects.count() == 2
    ticket = InboundEmail.objects.get(pk=rows[0].pk).ticket
    assert ticket is not None
    assert InboundEmail.objects.get(pk=rows[1].pk).ticket == ticket
    assert list(ticket.messages.order_by("id").values_list("body_text", flat=True)) == [
        "It is burning.",
        "More",
    ]


def test_a_failing_message_does_not_undo_the_rest_of_its_batch(
    desk: Any, mailbox: Any, monkeypatch: Any
) -> None:
    raws = [build_email(subject=f"m{i}", sender=f"p{i}@example.test") for i in range(3)]
    ids = [row.pk for row, _c in services.store_many(mailbox=mailbox, raws=raws, source="test")]
    thread = services._thread

    def fails_on_m1(parsed: Any, customer: Any, batch: Any) -> Any:
        if parsed.subject == "m1":
            raise RuntimeError("database went away")
        return thread(parsed, customer, batch)

    monkeypatch.setattr(services, "_thread", fails_on_m1)
    services.process_many(ids)
    rows = {row.pk: row for row in InboundEmail.objects.all()}
    assert [(rows[pk].state, rows[pk].attempts) for pk in ids] == [
        ("processed", 1),
        ("failed", 1),
        ("processed", 1),
    ]
    assert "database went away" in rows[ids[1]].detail
    # nothing of the failed message stays: no ticket, no requester account
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["m0", "m2"]
    assert not User.objects.filter(email="p1@example.test").exists()
    monkeypatch.undo()
    assert services.replay(states=["failed"]) == [ids[1]]
    assert InboundEmail.objects.get(pk=ids[1]).state == "processed"
    assert Message.objects.count() == 3


def test_messages_tried_before_are_processed_alone(
    desk: Any, mailbox: Any, monkeypatch: Any
) -> None:
    raws = [build_email(subject=f"m{i}") for i in range(4)]
    ids = [row.pk for row, _c in services.store_many(mailbox=mailbox, raws=raws, source="test")]
    InboundEmail.objects.filter(pk=ids[1]).update(state="processing", attempts=1)
    batches: list[list[int]] = []
    process_batch = services._process_batch

    def spy(inbound_ids: list[int]) -> None:
        batches.append(list(inbound_ids))
        process_batch(inbound_ids)

    monkeypatch.setattr(services, "_process_batch", spy)
    services.process_many(list(reversed(ids)))
    # in id order; the one a crashed worker left behind goes alone
    assert batches == [[ids[0]], [ids[1]], [ids[2], ids[3]]]
    attempts = dict(InboundEmail.objects.values_list("pk", "attempts"))
    assert [attempts[pk] for pk in ids] == [1, 2, 1, 1]
    assert set(InboundEmail.objects.values_list("state", flat=True)) == {"processed"}


@pytest.mark.django_db(transaction=True)
def test_a_committed_batch_dispatches_all_its_events(desk: Any) -> None:
    mailbox = Mailbox.objects.create(address="support@helpline.test")
    raws = [build_email(subject=f"m{i}", cc=f"cc{i}@example.test") for i in range(3)]
    # tasks run inline here: receiving runs the processing task after the commit
    services.receive_many(mailbox=mailbox, raws=raws, source="test")
    assert set(InboundEmail.objects.values_list("state", flat=True)) == {"processed"}
    types = sorted(OutboxEvent.objects.values_list("type", flat=True))
    assert types.count("ticket.created") == 3 and types.count("ticket.watchers_changed") == 3
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_new_tickets_of_a_batch_are_written_together_as_one_by_one(desk: Any, mailbox: Any) -> None:
    # given a batch: a new message with a file and people in copy, a reply to it, a
    # same-subject follow-up with a reply prefix, and a message from someone new
    raws = [
        build_email(
            subject="Scanner broken",
            message_id="<s1@example.test>",
            cc="Erin <erin@example.test>, alice@acme.test, support@helpline.test",
            attachments=[("log.txt", "text/plain", b"error 42")],
        ),
        build_email(subject="More", in_reply_to="<s1@example.test>", body="It smokes"),
        build_email(subject="RE: Scanner broken", body="Any news?"),
        build_email(subject="Hello", sender="Frank <frank@example.test>", body="Hi"),
    ]
    ids = [row.pk for row, _c in services.store_many(mailbox=mailbox, raws=raws, source="test")]
    # when it is processed
    services.process_many(ids)
    # then the replies thread into the ticket made earlier in the batch, the last message
    # opens its own, and each new ticket has what `ticket_create` and `ticket_watch` give
    rows = [InboundEmail.objects.get(pk=pk) for pk in ids]
    assert [row.state for row in rows] == ["processed"] * 4
    scanner, other, first = rows[0].ticket, rows[3].ticket, rows[0].ticket_message
    assert scanner is not None and other is not None and first is not None
    assert rows[1].ticket == rows[2].ticket == scanner != other
    assert [m.pk for m in scanner.messages.order_by("id")] == [
        rows[0].ticket_message_id,
        rows[1].ticket_message_id,
        rows[2].ticket_message_id,
    ]
    assert rows[3].ticket_message == other.messages.get()
    assert scanner.team == desk.l1 and scanner.channel == "email"
    assert [a.filename for a in first.attachments.all()] == ["log.txt"]
    erin = User.objects.get(email="erin@example.test")
    assert erin.display_name == ""
    assert sorted(scanner.watchers.values_list("email", flat=True)) == [
        "alice@acme.test",
        "erin@example.test",
    ]
    created = [
        (record.type, record.actor_id)
        for record in OutboxEvent.objects.filter(
            aggregate_type="ticket", aggregate_id=str(scanner.pk)
        ).order_by("pk")
    ][:3]
    assert created == [
        ("ticket.created", desk.dave.pk),
        ("ticket.watchers_changed", erin.pk),
        ("ticket.watchers_changed", desk.alice.pk),
    ]
    audit = list(scanner.audit_entries.order_by("pk").values_list("action", "actor_id", "after"))[
        :3
    ]
    assert audit[0][:2] == ("created", desk.dave.pk)
    assert audit[1:] == [
        ("watcher_added", erin.pk, erin.pk),
        ("watcher_added", desk.alice.pk, desk.alice.pk),
    ]


def test_messages_received_one_by_one_are_processed_in_batches(
    desk: Any, mailbox: Any, monkeypatch: Any
) -> None:
    # given five messages stored one at a time (their queued processing not run yet) and
    # one whose processing failed before
    rows = [
        services.receive_raw(mailbox=mailbox, raw_bytes=build_email(subject=f"m{i}"), source="test")
        for i in range(5)
    ]
    failed, _created = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    InboundEmail.objects.filter(pk=failed.pk).update(state="failed", attempts=1)
    batches: list[list[int]] = []
    process_batch = services._process_batch

    def spy(inbound_ids: list[int]) -> None:
        batches.append(list(inbound_ids))
        process_batch(inbound_ids)

    monkeypatch.setattr(services, "_process_batch", spy)
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    # when the first queued task runs (at most four messages per run here)
    assert services.process_pending(limit=4) == 4
    # then it processed the pending messages oldest first, a batch at a time, and the
    # next run takes the rest; the failed one is left to the retries
    ids = [row.pk for row in rows]
    assert batches == [ids[0:2], ids[2:4]]
    assert services.process_pending() == 1
    assert services.process_pending() == 0
    states = dict(InboundEmail.objects.values_list("pk", "state"))
    assert [states[pk] for pk in ids] == ["processed"] * 5 and states[failed.pk] == "failed"
    assert Ticket.objects.count() == 5


def test_a_batch_finds_people_in_any_case_and_saves_new_ones_together(
    desk: Any, mailbox: Any
) -> None:
    # given a user whose address was stored in mixed case, and a batch of messages with
    # many people in copy (more than one look-up's worth of new addresses)
    User.objects.filter(pk=desk.dave.pk).update(email="Dave@Example.TEST")
    raws = [
        build_email(
            subject=f"m{i}",
            sender="dave@example.test",
            cc=", ".join(f"p{i}-{k}@example.test" for k in range(20)),
        )
        for i in range(11)
    ]
    ids = [row.pk for row, _c in services.store_many(mailbox=mailbox, raws=raws, source="test")]
    users_before = User.objects.count()
    # when it is processed
    services.process_many(ids)
    # then the mixed-case user is the requester (not a new account) and every person in
    # copy is a new customer watching their ticket, saved with a UserCreated event each
    tickets = Ticket.objects.order_by("id")
    assert [t.requester_id for t in tickets] == [desk.dave.pk] * 11
    assert User.objects.count() == users_before + 220
    assert all(t.watchers.count() == 20 for t in tickets)
    created = OutboxEvent.objects.filter(
        type="user.created",
        aggregate_id__in=[
            str(pk)
            for pk in User.objects.filter(email__startswith="p").values_list("pk", flat=True)
        ],
    )
    assert created.count() == 220


@override_settings(HELPLINE_MAIL_SENDER_RATE="3/3600")
def test_a_batch_counts_each_senders_rate_with_the_mail_before_it(desk: Any, mailbox: Any) -> None:
    # given one message from dave already processed within the window
    before, _created = services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    services.process_many([before.pk])
    # when five more from dave and one from erin arrive together: new requests, a reply to
    # one of them, and the rejected ones in between
    first = build_email(subject="Storm 1", message_id="<s1@example.test>")
    raws = [
        first,
        build_email(subject="Storm 2"),
        build_email(subject="Re: Storm 1", in_reply_to="<s1@example.test>"),
        build_email(subject="Storm 3"),
        build_email(subject="Calm", sender="erin@example.test"),
        build_email(subject="Storm 4"),
    ]
    ids = [row.pk for row, _c in services.store_many(mailbox=mailbox, raws=raws, source="test")]
    services.process_many(ids)
    # then dave's first two make ticket messages (3 with the one before), the rest are
    # rejected, and erin is not held back by dave's storm
    rows = {row.pk: row for row in InboundEmail.objects.all()}
    assert [(rows[pk].state, rows[pk].rejection_reason) for pk in ids] == [
        ("processed", ""),
        ("processed", ""),
        ("rejected", "rate_limited"),
        ("rejected", "rate_limited"),
        ("processed", ""),
        ("rejected", "rate_limited"),
    ]
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Calm",
        "Printer on fire",
        "Storm 1",
        "Storm 2",
    ]


def test_a_batch_threads_replies_to_mail_we_sent_and_to_its_own_messages(
    desk: Any, mailbox: Any
) -> None:
    # given a ticket with an e-mail we sent about it
    ticket = tickets.ticket_create(actor=desk.alice, subject="Printer", body="Broken")
    OutboundEmail.objects.create(
        message_id="out-1@helpline.test",
        kind=Kind.REPLY,
        ticket=ticket,
        from_address="support@helpline.test",
        recipients=["alice@acme.test"],
        subject=f"[#{ticket.pk}] Printer",
        body_text="Hello",
        dedupe_key="out-1",
    )
    # when a batch holds a reply to it, a new request, and a reply to that request
    raws = [
        build_email(
            sender="alice@acme.test", subject="Re: Printer", in_reply_to="<out-1@helpline.test>"
        ),
        build_email(subject="Scanner", message_id="<new@example.test>"),
        build_email(subject="Re: Scanner", in_reply_to="<new@example.test>", body="Still"),
    ]
    ids = [row.pk for row, _c in services.store_many(mailbox=mailbox, raws=raws, source="test")]
    services.process_many(ids)
    # then each reply is in its ticket
    rows = [InboundEmail.objects.get(pk=pk) for pk in ids]
    assert [row.state for row in rows] == ["processed"] * 3
    assert rows[0].ticket == ticket
    assert rows[2].ticket == rows[1].ticket != ticket
    assert Ticket.objects.count() == 2
