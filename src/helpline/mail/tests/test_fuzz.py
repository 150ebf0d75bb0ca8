"""Fuzzing: mutated raw messages never raise; each is ingested or rejected with a reason."""

from __future__ import annotations

from typing import Any

from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.mail import parsing, services
from helpline.mail.models import InboundEmail

from .conftest import corpus_files

SEEDS = [
    b"From: a@example.test\r\nSubject: =?utf-8?B?0J/RgNC40LLQtdGC?=\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; '
    b"charset=koi8-r\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n--b\r\nContent-Type: application/pdf;"
    b" name*=utf-8''%D1%84.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n",
    b"From: MAILER-DAEMON@x\r\nContent-Type: multipart/report; report-type=delivery-status;"
    b' boundary="d"\r\n\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\n'
    b"Final-Recipient: rfc822; x@y\r\nAction: failed\r\n\r\n--d--\r\n",
]
for path in corpus_files()[:40:4]:
    SEEDS.append(path.read_bytes()[:6000])


@st.composite
def mutated(draw: Any) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "splice"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(
                st.sampled_from([b"\r\n", b"=?", b"?=", b"--", b"\x00", b";", b'"', b"\xff"])
                | st.binary(max_size=20)
            )
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        else:
            data[at:at] = draw(st.sampled_from(SEEDS))[: draw(st.integers(0, 300))]
    return bytes(data)


@given(raw=mutated())
@settings(max_examples=300, deadline=None)
def test_parse_never_raises(raw: bytes) -> None:
    parsed = parsing.parse(raw)
    assert isinstance(parsed.text, str) and isinstance(parsed.subject, str)
    assert all(isinstance(a.data, bytes) for a in parsed.attachments)


@given(raw=mutated())
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_pipeline_ingests_or_rejects_with_reason(mailbox: Any, raw: bytes) -> None:
    with override_settings(HELPLINE_MAIL_SENDER_RATE="0/1"):
        row, created = services.store_raw(mailbox=mailbox, raw=raw, source="test")
        services.process_inbound(row.pk)
    row.refresh_from_db()
    if created:
        assert bytes(row.raw) == raw
    assert row.state in (InboundEmail.State.PROCESSED, InboundEmail.State.REJECTED), row.detail
    if row.state == InboundEmail.State.PROCESSED:
        assert row.ticket_message_id is not None
    else:
        assert row.rejection_reason
