"""The mail corpus (../shared/corpus/mail): every message in, nothing lost.

Each message is stored and processed through the real pipeline: it becomes exactly one
ticket message or a rejection with a reason, and every attachment part is either stored
or named in a notice. Then explicit expectations for the interesting ones.
"""

from __future__ import annotations

import email
from email.message import Message as MimeMessage
from typing import Any

from django.test import override_settings

from helpline.mail import services
from helpline.mail.models import InboundEmail, SenderStatus
from helpline.tickets.models import Message

from .conftest import CORPUS, corpus_files, need_corpus


def _named_parts(msg: MimeMessage) -> int:
    """An independent count of attachment parts: leaves with a file name (an attached
    message counts once, its own parts are inside it)."""
    if msg.is_multipart():
        return sum(_named_parts(p) for p in msg.get_payload() if isinstance(p, MimeMessage))
    return 1 if msg.get_filename() or msg.get_content_type() == "message/rfc822" else 0


def _ingest(mailbox: Any) -> dict[str, InboundEmail]:
    rows: dict[str, InboundEmail] = {}
    with override_settings(HELPLINE_MAIL_SENDER_RATE="0/1"):
        for path in corpus_files():
            row, _created = services.store_raw(
                mailbox=mailbox, raw=path.read_bytes(), source="test"
            )
            services.process_inbound(row.pk)
            row.refresh_from_db()
            rows[str(path.relative_to(CORPUS))] = row
    return rows


def _outcome_problems(ingested: dict[str, InboundEmail]) -> list[str]:
    """Each message: one ticket message, or a rejection with a reason."""
    problems = []
    for name, row in ingested.items():
        if row.state == InboundEmail.State.PROCESSED:
            if row.ticket_message_id is None:
                problems.append(f"{name}: processed without a ticket message")
        elif row.state == InboundEmail.State.REJECTED:
            if not row.rejection_reason or row.ticket_message_id is not None:
                problems.append(f"{name}: rejected without reason")
        else:
            problems.append(f"{name}: {row.state} {row.detail}")
    # Copies in the corpus (same Message-ID or bytes) are one row, hence one message.
    by_row = {row.pk: row.ticket_message_id for row in ingested.values() if row.ticket_message_id}
    if len(set(by_row.values())) != len(by_row):
        problems.append("two stored messages share one ticket message")
    if Message.objects.filter(inbound_emails__isnull=False).distinct().count() != len(by_row):
        problems.append("ticket messages and processed e-mails do not match one to one")
    return problems


def _lost_attachments(ingested: dict[str, InboundEmail]) -> list[str]:
    lost = []
    for name, row in ingested.items():
        if row.kind != InboundEmail.Kind.MESSAGE or row.ticket_message is None:
            continue
        expected = _named_parts(email.message_from_bytes(bytes(row.raw)))
        stored = row.ticket_message.attachments.count()
        noticed = len([n for n in row.extra.get("notices", []) if n.startswith("Attachment")])
        if stored + noticed < expected:
            lost.append(f"{name}: {expected} parts, {stored} stored, {noticed} noticed")
    return lost


def _attachments(row: InboundEmail) -> list[tuple[str, int]]:
    assert row.ticket_message is not None
    return [(a.filename, a.size) for a in row.ticket_message.attachments.order_by("id")]


EXPECTED: list[tuple[str, dict[str, Any]]] = [
    (
        "mikel-mail/multi_charset/japanese.eml",
        {"sender": "raasdnil@gmail.com", "subject": "まみむめも", "body": "かきくえこ"},
    ),
    (
        "mikel-mail/multi_charset/japanese_iso_2022.eml",
        {"subject": "まみむめも", "body": "すみません。"},
    ),
    (
        "mikel-mail/multi_charset/japanese_shift_jis.eml",
        {"body": "このメールはテスト用のメールです。"},
    ),
    ("mikel-mail/multi_charset/japanese_attachment.eml", {"files": [("てすと.txt", 33)]}),
    (
        "mikel-mail/multi_charset/japanese_attachment_long_name.eml",
        {"files": [("かきくけこ" * 5 + ".txt", 18)]},
    ),
    ("mikel-mail/multi_charset/ks_c_5601-1987.eml", {"body": "스티해"}),
    (
        "spamscope-mail-parser/mail_test_1",
        {
            "sender": "suvorov.s@nalg.ru",
            "subject": "письмо уведом-е",
            "body": "Информируем Вас об имеющейся задолженности.",
            "files": [("ФНС_РФ558.zip", 8932)],
        },
    ),
    (
        "spamscope-mail-parser/mail_test_11",
        {"files": [("Prokuratura Rejonowa Warszawa-Śródmieście północ sygn.", 8932)]},
    ),
    (
        "spamscope-mail-parser/mail_test_12",
        {"subject": "代开各地增值税发票", "body": "我公司可代开各类增值税发票"},
    ),
    ("flanker/bilingual-simple.eml", {"body": "А эта линия по-русски."}),
    (
        "zbateson-mail-mime-parser/m0001.txt",
        {
            "sender": "doug@example.com",
            "subject": "Die Hasen und die Frösche (Microsoft Outlook 00)",
            "body": "Die Hasen klagten einst über ihre mißliche Lage",
        },
    ),
    ("zbateson-mail-mime-parser/m2004.txt", {"subject": "Die Hasen und die Frösche"}),
    (
        "zbateson-mail-mime-parser/github-115.txt",
        {"files": [("blueball.png", 1325), ("greenball.png", 1298), ("redball.png", 1453)]},
    ),
    ("zbateson-mail-mime-parser/m0022.txt", {"files": [("aaa.txt", 149962)]}),
    ("zbateson-mail-mime-parser/m4006.txt", {"files": [("winmail.dat", 1325)]}),
    (
        "mikel-mail/attachment_emails/attachment_with_quoted_filename.eml",
        {"files": [("Eelanalüüsi päring.jpg", 1952)]},
    ),
    ("zbateson-mail-mime-parser/m1015.txt", {"files": [("HasenundFrösche.txt", 747)]}),
    (
        "mikel-mail/attachment_emails/attachment_with_base64_encoded_name.eml",
        {"files": [("This is a test.pdf", 399)]},
    ),
    ("mikel-mail/attachment_emails/attachment_pdf.eml", {"subject": "Another PDF with 🎉 Unicode"}),
    (
        "flanker/russian-attachment-yahoo.eml",
        {"files": [("Картинка с очень, очень длинным предлинным именем", 178213)]},
    ),
    ("flanker/apache-message-news-mime.eml", {"rejected": "auto_reply"}),
    ("flanker/complaints/aol.eml", {"rejected": "auto_reply"}),
    ("flanker/disposition-notification.eml", {"rejected": "auto_reply"}),
    ("spamscope-mail-parser/mail_test_16", {"rejected": "auto_reply"}),
    ("flanker/bounce/zed.eml", {"rejected": "bounce_unmatched", "kind": "bounce"}),
    ("flanker/bounce/mailbox-full.eml", {"rejected": "bounce_unmatched", "kind": "bounce"}),
    ("mikel-mail/error_emails/bad_encoded_subject.eml", {"rejected": "no_sender"}),
    ("flanker/mailformed-headers.eml", {"sender": "headers@gmail.com"}),
    ("flanker/torture.eml", {"subject": "Multi-media mail demonstration"}),
]


def _expectation_problems(row: InboundEmail, expected: dict[str, Any]) -> list[str]:
    if "rejected" in expected:
        got = (row.state, row.rejection_reason, row.kind)
        want = ("rejected", expected["rejected"], expected.get("kind", row.kind))
        return [] if got == want else [f"{got} != {want}"]
    if row.state != "processed" or row.ticket is None or row.ticket_message is None:
        return [f"{row.state}: {row.detail}"]
    problems = []
    message = row.ticket_message
    if "sender" in expected and message.author.email != expected["sender"]:
        problems.append(f"sender {message.author.email}")
    if "subject" in expected and not row.ticket.subject.startswith(expected["subject"]):
        problems.append(f"subject {row.ticket.subject!r}")
    if "body" in expected and expected["body"] not in message.body_text:
        problems.append(f"body {message.body_text[:200]!r}")
    if "files" in expected:
        stored = _attachments(row)
        wanted = expected["files"]
        if len(stored) != len(wanted) or any(
            not name.startswith(prefix) or size != want_size
            for (prefix, want_size), (name, size) in zip(wanted, stored, strict=False)
        ):
            problems.append(f"files {stored}")
    return problems


def test_corpus(mailbox: Any) -> None:
    """Every message in, nothing lost, and the interesting ones read right."""
    need_corpus()
    ingested = _ingest(mailbox)
    assert len(ingested) >= 250
    assert _outcome_problems(ingested) == []
    assert _lost_attachments(ingested) == []
    wrong = {
        name: problems
        for name, expected in EXPECTED
        if (problems := _expectation_problems(ingested[name], expected))
    }
    assert wrong == {}
    assert SenderStatus.objects.get(address="user@aol.com").failing
    zed = "asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com"
    assert SenderStatus.objects.get(address=zed).failing
