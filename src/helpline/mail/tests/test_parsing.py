"""Parsing is pure: raw bytes in, a ParsedEmail out, never an exception."""

from __future__ import annotations

import base64
import email.quoprimime

import pytest

from helpline.mail import parsing

from .conftest import build_email


def _raw(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode("ascii") + b"\r\n" + body


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("koi8-r", "Привет, у нас сломался принтер"),
        ("windows-1251", "Здравствуйте, счёт не пришёл"),
        ("gb2312", "你好，打印机坏了"),
        ("gb18030", "你好，打印机坏了𠀀"),
        ("big5", "您好，印表機壞了"),
        ("iso-2022-jp", "こんにちは、プリンターが壊れました"),
        ("iso-8859-2", "Dzień dobry, drukarka nie działa"),
        ("iso-8859-7", "Καλημέρα, ο εκτυπωτής χάλασε"),
        ("utf-8", "Grüße, 你好, привет"),
    ],
)
def test_declared_charsets_decode(charset: str, text: str) -> None:
    encoded_subject = base64.b64encode(text.encode(charset)).decode()
    raw = _raw(
        f"From: a@example.test\nSubject: =?{charset}?B?{encoded_subject}?=\n"
        f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n",
        text.encode(charset),
    )
    parsed = parsing.parse(raw)
    assert parsed.text == text
    assert parsed.subject == text


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        ("utf-8", "Привет из неразмеченного письма"),
        ("windows-1251", "Здравствуйте, у нас не работает почта уже второй день подряд"),
        ("koi8-r", "Здравствуйте, у нас не работает почта уже второй день подряд"),
        ("gb18030", "您好，我们的邮件系统已经两天不能正常工作了，请尽快帮忙处理"),
    ],
)
def test_undeclared_charset_is_detected(codec: str, text: str) -> None:
    raw = _raw("From: a@example.test\nSubject: x\n", text.encode(codec))
    assert parsing.parse(raw).text == text


def test_raw_8bit_headers_and_wrong_declared_charset() -> None:
    raw = (
        b"From: =?utf-8?B?0JjQstCw0L0=?= <ivan@example.test>\r\n"
        b"Subject: \xd0\xa1\xd1\x87\xd1\x91\xd1\x82\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + "счёт не пришёл".encode()
    )
    parsed = parsing.parse(raw)
    assert parsed.subject == "Счёт"
    assert parsed.sender == "ivan@example.test"
    assert parsed.sender_name == "Иван"
    assert parsed.text == "счёт не пришёл"


def test_rfc2231_and_encoded_word_filenames() -> None:
    raw = _raw(
        "From: a@example.test\nSubject: files\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n',
        (
            b"--b\r\nContent-Type: text/plain\r\n\r\nsee files\r\n"
            b"--b\r\nContent-Type: application/pdf\r\n"
            b"Content-Disposition: attachment; filename*=UTF-8''%D1%81%D1%87%D1%91%D1%82.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
            b'--b\r\nContent-Type: text/plain; name="=?koi8-r?B?08/X2Q==?=.txt"\r\n'
            b"Content-Disposition: attachment\r\n\r\nhello\r\n"
            b"--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment;\r\n filename*0*=utf-8''%E6%8A%A5;\r\n"
            b" filename*1=.bin\r\n\r\nxyz\r\n--b--\r\n"
        ),
    )
    parsed = parsing.parse(raw)
    assert [a.filename for a in parsed.attachments] == ["счёт.pdf", "совы.txt", "报.bin"]
    assert parsed.attachments[0].data == b"%PDF-"
    assert parsed.text == "see files"


def test_alternative_prefers_sanitized_html_and_keeps_text() -> None:
    raw = build_email(
        body="Plain version",
        html='<p onclick="x()">Rich <b>version</b></p><script>alert(1)</script>',
    )
    parsed = parsing.parse(raw)
    assert parsed.text == "Plain version"
    assert "<b>version</b>" in parsed.html
    assert "script" not in parsed.html and "onclick" not in parsed.html


def test_inline_cid_images_are_attachments_and_rewritten() -> None:
    raw = _raw(
        "From: a@example.test\nSubject: pic\nMIME-Version: 1.0\n"
        'Content-Type: multipart/related; boundary="r"\n',
        (
            b"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b'<p>Look: <img src="cid:logo@x"></p>\r\n'
            b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"
        ),
    )
    parsed = parsing.parse(raw)
    assert len(parsed.attachments) == 1
    image = parsed.attachments[0]
    assert image.inline and image.content_id == "logo@x" and image.data.startswith(b"\x89PNG")
    assert 'src="cid:logo@x"' in parsed.html
    rewritten = parsing.rewrite_cids(parsed.html, {"logo@x": "/img/1"})
    assert 'src="/img/1"' in rewritten
    assert parsed.text == "Look:"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "vacation"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
    ],
)
def test_auto_reply_headers(headers: dict[str, str]) -> None:
    parsed = parsing.parse(build_email(headers=headers))
    assert parsed.auto_reply
    assert parsed.bounce is None


@pytest.mark.parametrize(
    "subject",
    ["Out of Office: Printer", "Automatic reply: help", "Автоответ: отпуск", "自动回复: 你好"],
)
def test_vacation_subjects(subject: str) -> None:
    assert parsing.parse(build_email(subject=subject)).auto_reply == "subject"


def test_normal_mail_is_not_noise() -> None:
    parsed = parsing.parse(build_email(headers={"Auto-Submitted": "no"}))
    assert parsed.auto_reply == "" and parsed.bounce is None


def test_dsn_bounce_finds_original_message_id_and_recipients() -> None:
    raw = _raw(
        "From: MAILER-DAEMON@mx.example.test\nTo: support@helpline.test\n"
        "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\n',
        (
            b"--d\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
            b"--d\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mx.example.test\r\n\r\n"
            b"Final-Recipient: rfc822; gone@example.test\r\nAction: failed\r\n"
            b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
            b"--d\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            b"Message-ID: <ticket-5.reply-9@helpline.test>\r\nSubject: Re: [#5] help\r\n\r\n"
            b"--d--\r\n"
        ),
    )
    parsed = parsing.parse(raw)
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "ticket-5.reply-9@helpline.test"
    assert parsed.bounce.failed == ["gone@example.test"]
    assert parsed.bounce.status == "5.1.1"
    assert "no such user" in parsed.bounce.diagnostic


def test_quoted_history_and_signature_are_split_off() -> None:
    text = "Thanks, it works now.\n\nOn Mon, 1 Jan 2026 Lena wrote:\n> Try again\n> please"
    visible, quoted = parsing.split_quoted(text)
    assert visible == "Thanks, it works now."
    assert quoted.startswith("On Mon") and "> please" in quoted
    visible, quoted = parsing.split_quoted("Hello\n-- \nDave\nACME Corp")
    assert visible == "Hello" and quoted.startswith("--")
    html = parsing.text_to_html(text)
    assert html.startswith("<p>Thanks, it works now.</p><blockquote>")


def test_tnef_that_is_not_tnef_is_kept_as_is() -> None:
    raw = build_email(attachments=[("winmail.dat", "application/ms-tnef", b"not tnef at all")])
    parsed = parsing.parse(raw)
    assert [(a.filename, a.data) for a in parsed.attachments] == [
        ("winmail.dat", b"not tnef at all")
    ]
    assert "tnef_unreadable" in parsed.defects


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"Subject: =?utf-8?B?####?=\r\nFrom: <<<@@@>>>\r\n\r\nbody",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe",
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64",
        b"From: a@b\r\nContent-Type: message/rfc822\r\n\r\ngarbage",
    ],
)
def test_malformed_input_never_raises(raw: bytes) -> None:
    parsed = parsing.parse(raw)
    assert isinstance(parsed.text, str)


def test_thread_ids_and_subject_normalisation() -> None:
    raw = build_email(in_reply_to="<a@x>", subject="Re: AW: [#12] Printer")
    parsed = parsing.parse(raw)
    assert parsed.thread_ids == ["a@x"]
    assert parsing.normalized_subject(parsed.subject) == "printer"
    assert parsing.TICKET_TOKEN.findall(parsed.subject) == ["12"]


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?a_b?= =?utf-8?b?w6k=?=\n =?iso-8859-1?Q?caf=E9?= plain =?UTF-8?B?4oKs?=",
        "before =?utf-8?b?w6?= after",  # base64 without its padding
        "=?utf-8?b?!!!?=",  # not base64: an error, as the stdlib raises
        "x =?koi8-r?q?=F0?=\t=?koi8-r?q?=F1?=  tail  words",
        "=?utf-8?q?Die_hei=C3=9Fe_Zypernsonne?=\n " * 2000,  # 200 kB subjects exist
    ],
)
def test_encoded_words_decode_as_the_stdlib_does(value: str) -> None:
    import email.errors
    import email.header

    try:
        expected: object = email.header.decode_header(value)
    except email.errors.HeaderParseError:
        expected = email.errors.HeaderParseError
    try:
        got: object = parsing._encoded_words(value)
    except email.errors.HeaderParseError:
        got = email.errors.HeaderParseError
    assert got == expected


def test_a_nul_in_the_content_type_is_dropped() -> None:
    raw = (
        b"From: a@example.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type:\x00multipart/alternative; boundary=b1\r\n\r\n"
        b"--b1\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b1--\r\n"
    )
    parsed = parsing.parse(raw)
    assert [a.content_type for a in parsed.attachments] == ["multipart/alternative"]


@pytest.mark.parametrize(
    "word",
    ["caf=C3=A9_au_lait", "a=3d=3D", "=", "x=", "a==41", "=4", "=G1_", "=e9=\r\n", "\u00e9=41", ""],
)
def test_q_encoded_words_decode_as_the_stdlib_decodes_them(word: str) -> None:
    stdlib = bytes(email.quoprimime.header_decode(word), "raw-unicode-escape")
    assert parsing._q_decode(word) == stdlib
