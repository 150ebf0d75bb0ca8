"""Threading order and the requester's ticket settings, through the whole pipeline:
References alone, In-Reply-To before the `[#123]` token before the subject match, the
subject match's window, reopening, a merged ticket, the mailbox's category, organisations
matched by domain only when they allow it, and winmail.dat unpacked."""

from __future__ import annotations

import struct
from datetime import timedelta
from typing import Any

from django.test import TestCase
from django.utils import timezone

from helpline.accounts import services as accounts
from helpline.mail import services
from helpline.tickets import catalog
from helpline.tickets import services as tickets
from helpline.tickets.models import Status, Ticket

from .conftest import build_email


def _receive(mailbox: Any, raw: bytes) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        row = services.receive_raw(mailbox=mailbox, raw_bytes=raw, source="test")
    row.refresh_from_db()
    return row


def _ticket(mailbox: Any, subject: str, message_id: str) -> Ticket:
    row = _receive(mailbox, build_email(subject=subject, message_id=message_id))
    assert row.ticket is not None, (row.state, row.rejection_reason, row.detail)
    return row.ticket


def test_references_alone_thread_a_reply(desk: Any, mailbox: Any) -> None:
    ticket = _ticket(mailbox, "Printer", "<p1@example.test>")
    # a client that sends References only (and a References chain where the newest id is
    # one we never saw, e.g. a colleague's message in between)
    reply = _receive(
        mailbox,
        build_email(
            subject="Something else",
            body="answer",
            headers={"References": "<p1@example.test> <colleague@elsewhere.test>"},
        ),
    )
    assert reply.ticket == ticket


def test_in_reply_to_comes_before_the_ticket_token(desk: Any, mailbox: Any) -> None:
    first = _ticket(mailbox, "Printer", "<a@example.test>")
    second = _ticket(mailbox, "Scanner", "<b@example.test>")
    reply = _receive(
        mailbox,
        build_email(subject=f"Re: [#{second.pk}] Scanner", in_reply_to="<a@example.test>"),
    )
    assert reply.ticket == first


def test_the_ticket_token_comes_before_the_subject_match(desk: Any, mailbox: Any) -> None:
    printer = _ticket(mailbox, "Printer", "<a@example.test>")
    _ticket(mailbox, "Scanner", "<b@example.test>")
    reply = _receive(mailbox, build_email(subject=f"Re: [#{printer.pk}] Scanner"))
    assert reply.ticket == printer


def test_the_subject_match_holds_only_within_the_window(
    desk: Any, mailbox: Any, settings: Any
) -> None:
    settings.HELPLINE_MAIL_THREAD_WINDOW_DAYS = 7
    recent = _ticket(mailbox, "Invoice 42 missing", "<i42@example.test>")
    old = _ticket(mailbox, "Invoice 43 missing", "<i43@example.test>")
    now = timezone.now()
    Ticket.objects.filter(pk=recent.pk).update(updated_at=now - timedelta(days=6))
    Ticket.objects.filter(pk=old.pk).update(updated_at=now - timedelta(days=8))
    assert _receive(mailbox, build_email(subject="Re: Invoice 42 missing")).ticket == recent
    late = _receive(mailbox, build_email(subject="Re: Invoice 43 missing")).ticket
    assert late is not None and late != old


def test_a_customer_reply_reopens_a_solved_ticket(desk: Any, mailbox: Any) -> None:
    ticket = _ticket(mailbox, "Printer", "<s1@example.test>")
    tickets.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.SOLVED)
    reply = _receive(mailbox, build_email(in_reply_to="<s1@example.test>", body="not fixed"))
    assert reply.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(
    desk: Any, mailbox: Any
) -> None:
    source = _ticket(mailbox, "Printer", "<m1@example.test>")
    target = _ticket(mailbox, "Printer again", "<m2@example.test>")
    tickets.ticket_merge(actor=desk.agent1, source=source, target=target)
    reply = _receive(mailbox, build_email(in_reply_to="<m1@example.test>", body="more"))
    assert reply.ticket == target


def test_new_tickets_get_the_mailboxs_team_and_category(desk: Any, mailbox: Any) -> None:
    billing = catalog.category_create(actor=desk.admin, name="Billing")
    mailbox.team = desk.finance_team
    mailbox.category = billing
    mailbox.save()
    ticket = _receive(mailbox, build_email(subject="Invoice")).ticket
    assert (ticket.team, ticket.category) == (desk.finance_team, billing)


def test_organisation_by_domain_only_when_the_organisation_allows_it(
    desk: Any, mailbox: Any
) -> None:
    accounts.organization_update(actor=desk.admin, organization=desk.globex, match_by_domain=False)
    ticket = _receive(mailbox, build_email(sender="zoe@globex.test")).ticket
    assert ticket.requester.organization is None and ticket.organization is None
    ticket = _receive(mailbox, build_email(sender="zed@acme.test")).ticket
    assert ticket.requester.organization == desk.acme


def _tnef_object(level: int, name: int, kind: int, data: bytes) -> bytes:
    """One TNEF attribute (MS-OXTNEF 2.1.3): level, id, type, length, data, checksum."""
    checksum = struct.pack("<H", sum(data) & 0xFFFF)
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + checksum


def winmail_dat(body: bytes, files: list[tuple[bytes, bytes]]) -> bytes:
    """A winmail.dat as Outlook writes it without rich text: the body (attBody) and each
    file as attAttachRendData, attAttachTitle and attAttachData."""
    out = struct.pack("<IH", 0x223E9F78, 1)
    out += _tnef_object(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_object(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _tnef_object(1, 0x800C, 0x0002, body)  # attBody
    for name, data in files:
        out += _tnef_object(2, 0x9002, 0x0006, b"\x01\x00" + b"\xff" * 4 + b"\x00" * 8)
        out += _tnef_object(2, 0x8010, 0x0001, name + b"\x00")
        out += _tnef_object(2, 0x800F, 0x0006, data)
    return out


def test_winmail_dat_is_unpacked_into_its_files_and_text(desk: Any, mailbox: Any) -> None:
    tnef = winmail_dat(
        b"Please see the quarterly report.",
        [(b"report.pdf", b"%PDF-1.4 quarterly"), (b"notes.txt", b"plain notes")],
    )
    raw = build_email(
        body="Sent from Outlook", attachments=[("winmail.dat", "application/ms-tnef", tnef)]
    )
    row = _receive(mailbox, raw)
    message = row.ticket_message
    assert message is not None
    stored = {a.filename: (a.content_type, a.file.read()) for a in message.attachments.all()}
    assert stored == {
        "report.pdf": ("application/pdf", b"%PDF-1.4 quarterly"),
        "notes.txt": ("text/plain", b"plain notes"),
    }
    assert "Sent from Outlook" in message.body_text
    assert "Please see the quarterly report." in message.body_text
    assert bytes(row.raw) == raw
