"""IMAP folders and processed mail against a real dovecot: folders named in any language,
delete, a move that failed at first, a poll that stopped half-way, a changed UIDVALIDITY."""

from __future__ import annotations

from typing import Any

from helpline.mail.imap import _modified_utf7
from helpline.mail.models import InboundEmail, Mailbox
from helpline.tickets.models import Message, Ticket

from . import peers
from .conftest import build_email, imap_mailbox, poll

# The names in IMAP's modified UTF-7 (RFC 3501, 5.1.3), from Python's UTF-7 codec:
# "Входящие".encode("utf-7") == b"+BBIERQQ+BDQETwRJBDgENQ-", and "&" is written "&-".
INCOMING = "Входящие 支持"
INCOMING_WIRE = "&BBIERQQ+BDQETwRJBDgENQ- &ZS9jAQ-"
DONE = "Обработано & done"
DONE_WIRE = "&BB4EMQRABDAEMQQ+BEIEMAQ9BD4- &- done"


def test_folder_names_go_out_in_modified_utf7() -> None:
    assert _modified_utf7(INCOMING) == INCOMING_WIRE
    assert _modified_utf7(DONE) == DONE_WIRE
    assert _modified_utf7("INBOX/Support") == "INBOX/Support"


def test_polls_and_moves_between_folders_named_in_any_language(desk: Any, imap_port: int) -> None:
    # given a Russian/Chinese folder holding two messages and a target folder with "&"
    peers.create_folder(imap_port, INCOMING_WIRE)
    peers.create_folder(imap_port, DONE_WIRE)
    peers.append(imap_port, build_email(subject="one"), folder=INCOMING_WIRE)
    peers.append(imap_port, build_email(subject="two"), folder=INCOMING_WIRE)
    mailbox = imap_mailbox(
        imap_port,
        imap_folder=INCOMING,
        processed_action=Mailbox.Processed.MOVE,
        processed_folder=DONE,
    )
    # when it is polled
    assert poll(mailbox) == 2, mailbox.last_error
    # then both became tickets and moved to the target folder
    assert mailbox.last_error == ""
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["one", "two"]
    assert peers.flags(imap_port, INCOMING_WIRE) == []
    assert len(peers.flags(imap_port, DONE_WIRE)) == 2


def test_processed_mail_is_deleted(desk: Any, imap_port: int) -> None:
    peers.append(imap_port, build_email(subject="delete me"), build_email(subject="me too"))
    mailbox = imap_mailbox(imap_port, processed_action=Mailbox.Processed.DELETE)
    assert poll(mailbox) == 2
    assert peers.flags(imap_port, "INBOX") == []
    assert Ticket.objects.count() == 2
    assert poll(mailbox) == 0
    assert Message.objects.count() == 2


def test_stored_mail_that_could_not_be_moved_is_moved_by_a_later_poll(
    desk: Any, imap_port: int
) -> None:
    # given a mailbox whose processed folder does not exist yet
    peers.append(imap_port, build_email(subject="keep me"))
    mailbox = imap_mailbox(
        imap_port, processed_action=Mailbox.Processed.MOVE, processed_folder="Later"
    )
    # when it is polled, the message is stored and made a ticket, the move fails
    assert poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert "cannot copy to Later" in mailbox.last_error
    assert InboundEmail.objects.get().state == "processed"
    assert len(peers.flags(imap_port, "INBOX")) == 1
    # then, once the folder exists, the next poll moves it without storing it again
    peers.create_folder(imap_port, "Later")
    assert poll(mailbox) == 0
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert peers.flags(imap_port, "INBOX") == []
    assert len(peers.flags(imap_port, "Later")) == 1
    assert Message.objects.count() == 1


def test_a_poll_that_stopped_half_way_resumes_at_the_next_uid(desk: Any, imap_port: int) -> None:
    peers.append(imap_port, *(build_email(subject=f"m{i}") for i in range(5)))
    mailbox = imap_mailbox(imap_port)
    # a poll that stops after two messages (here: its limit)
    assert poll(mailbox, limit=2) == 2
    assert mailbox.imap_last_uid == 2
    seen = [b"\\Seen" in item for item in peers.flags(imap_port)]
    assert seen == [True, True, False, False, False]
    # the next one takes the other three, and each message is one ticket
    assert poll(mailbox) == 3
    assert mailbox.imap_last_uid == 5
    assert all(b"\\Seen" in item for item in peers.flags(imap_port))
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [f"m{i}" for i in range(5)]


def test_a_changed_uidvalidity_starts_over_without_ingesting_twice(
    desk: Any, imap_port: int
) -> None:
    first, second = build_email(subject="first"), build_email(subject="second")
    peers.create_folder(imap_port, "Queue")
    peers.append(imap_port, first, second, folder="Queue")
    mailbox = imap_mailbox(imap_port, imap_folder="Queue")
    assert poll(mailbox) == 2
    validity = mailbox.imap_uid_validity
    # the folder is recreated on the server (new UIDVALIDITY) with the same two messages
    # and a new one
    peers.delete_folder(imap_port, "Queue")
    peers.create_folder(imap_port, "Queue")
    peers.append(imap_port, first, second, build_email(subject="third"), folder="Queue")
    assert poll(mailbox) == 3
    assert mailbox.imap_uid_validity != validity
    assert mailbox.imap_last_uid == 3
    assert InboundEmail.objects.count() == 3
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "first",
        "second",
        "third",
    ]
    assert Message.objects.count() == 3
