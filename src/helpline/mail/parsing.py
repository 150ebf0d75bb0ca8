"""Turn raw RFC 822 bytes into what a ticket needs. Pure: no database, never raises.

The structure is parsed by the stdlib (`compat32`, the most forgiving policy); headers are
decoded here with our own fallbacks (RFC 2047 words in any charset, raw 8-bit headers,
broken encodings), text parts are decoded with the declared charset or, when it is
missing or wrong, with a sane order of guesses. Whatever is malformed is recorded as a
defect and worked around.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.base64mime
import email.errors
import email.header
import email.quoprimime
import email.utils
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message

from helpline.core.html import html_to_text, sanitize_html

# Declared names that lie (a label for a narrower charset than the text uses) or that
# Python does not know, mapped to the codec that decodes what is really sent.
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-874": "cp874",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-user-defined": "cp1252",
}
UNKNOWN_CHARSETS = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "default", "charset"})
# Tried in order when no charset is declared and the bytes are not UTF-8.
FALLBACK_CHARSETS = ("cp1251", "koi8-r", "gb18030", "big5hkscs", "cp932", "euc-jp", "cp1252")

AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|"
    r"vacation|on leave|abwesenheit|absence|autosvar|automaattinen|r[ée]ponse automatique|"
    r"respuesta autom[áa]tica|автоответ|автоматический ответ|自动回复|自動回覆|自動応答|不在)",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery (status notification|failure|has failed)|mail delivery failed|"
    r"returned mail|failure notice|delivery notification|non[- ]?delivery|"
    r"nicht zustellbar|unzustellbar)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
MESSAGE_ID_HEADER = re.compile(r"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
TICKET_TOKEN = re.compile(r"\[#(\d{1,12})\]")
SUBJECT_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|sv|vs|antw|odp|r|rif|tr|回复|答复|转发|返信|転送|на)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
HTML_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_:.+-]+)""", re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^(on .{3,200}wrote:|am .{3,200}schrieb.{0,40}:|le .{3,200}a écrit\s*:|"
    r"-{2,} ?original message ?-{2,}|-{2,} ?forwarded message ?-{2,}|"
    r"from: .+|von: .+|от: .+|发件人[:：].*|差出人[:：].*|"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}.{0,80}(wrote|写道|書きました).*)$",
    re.IGNORECASE,
)
SIGNATURE_MARK = re.compile(
    r"^(-- ?|__+|sent from my .{1,40}|отправлено с .{1,40})$", re.IGNORECASE
)
# An RFC 2047 encoded word, as `email.header` finds them (its `ecre`).
ENCODED_WORD = re.compile(
    r"=\?(?P<charset>[^?]*?)\?(?P<encoding>[qQbB])\?(?P<encoded>.*?)\?=", re.MULTILINE
)
CID_REF = re.compile(r"""(src\s*=\s*["']?)cid:([^"'\s>]+)""", re.IGNORECASE)


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False


@dataclass
class Bounce:
    """A delivery status notification: who failed, and which message of ours bounced."""

    original_message_id: str = ""
    failed: list[str] = field(default_factory=list)
    delayed: list[str] = field(default_factory=list)
    status: str = ""
    diagnostic: str = ""


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    sender: str = ""
    sender_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reply: str = ""
    bounce: Bounce | None = None
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this message answers: In-Reply-To first, then References newest first."""
        ids = list(self.in_reply_to)
        ids += [mid for mid in reversed(self.references) if mid not in ids]
        return ids


# --- text ----------------------------------------------------------------------------------


def _codec(charset: str | None) -> str | None:
    name = (charset or "").strip().strip("\"'").lower()
    if name in UNKNOWN_CHARSETS:
        return None
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Decode bytes with the declared charset, else the best guess; never raises."""
    codec = _codec(charset)
    if codec == "cp1252" and not data.isascii():
        try:
            return data.decode("utf-8")  # UTF-8 labelled as ASCII or Latin-1
        except UnicodeDecodeError:
            pass
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    if data.isascii():
        return data.decode("ascii")
    lenient = data.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd")
    if broken == 0 or (broken <= len(lenient) // 200 + 1 and len(lenient) < len(data) - broken):
        return lenient  # UTF-8 with a truncated or stray byte, not another charset
    guess = _detect(data)
    if guess is not None:
        return guess
    if codec is not None:
        return data.decode(codec, errors="replace")
    return data.decode("cp1252", errors="replace")


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536], cp_isolation=list(FALLBACK_CHARSETS)).best()
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    for codec in FALLBACK_CHARSETS:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def _unsurrogate(value: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: decode them for real."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return decode_text(value.encode("ascii", "surrogateescape"))


def decode_header(value: object) -> str:
    """A header as one line of text: RFC 2047 words decoded, any charset, never raises."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = _unsurrogate(str(value))
    if "=?" in text:
        try:
            chunks = _encoded_words(text)
        except (email.errors.HeaderParseError, binascii.Error, ValueError, LookupError):
            chunks = [(text, None)]
        pieces = []
        for chunk, charset in chunks:
            if isinstance(chunk, bytes):
                pieces.append(decode_text(chunk, charset))
            else:
                pieces.append(chunk)
        text = "".join(pieces)
    return " ".join(text.replace("\x00", "").split())


def _encoded_words(header: str) -> list[tuple[bytes | str, str | None]]:
    """`email.header.decode_header` in linear time: the stdlib's is quadratic in the number
    of encoded words (a 200 kB subject took 0.3 s). Same results, same errors."""
    if not ENCODED_WORD.search(header):
        return [(header, None)]
    words: list[tuple[str | bytes, str | None, str | None]] = []
    for line in header.splitlines():
        parts = ENCODED_WORD.split(line)
        for at in range(0, len(parts), 4):
            unencoded = parts[at].lstrip() if at == 0 else parts[at]
            if unencoded:
                words.append((unencoded, None, None))
            if at + 3 < len(parts):
                words.append((parts[at + 3], parts[at + 2].lower(), parts[at + 1].lower()))
    # Whitespace between two encoded words is dropped.
    dropped = {
        n - 1
        for n, word in enumerate(words)
        if n > 1 and word[1] and words[n - 2][1] and str(words[n - 1][0]).isspace()
    }
    decoded: list[tuple[bytes, str | None]] = []
    for n, (encoded, encoding, charset) in enumerate(words):
        if n in dropped:
            continue
        if encoding is None:
            decoded.append((bytes(str(encoded), "raw-unicode-escape"), charset))
        elif encoding == "q":
            decoded.append((_q_decode(str(encoded)), charset))
        else:
            padded = str(encoded) + "==="[: (4 - len(encoded) % 4) % 4]
            try:
                decoded.append((email.base64mime.decode(padded), charset))
            except binascii.Error:
                raise email.errors.HeaderParseError("Base64 decoding error") from None
    # Runs of words in one charset are joined (unencoded ones with a space).
    collapsed: list[tuple[bytes | str, str | None]] = []
    run: list[bytes] = []
    run_charset: str | None = None
    for chunk, charset in decoded:
        if run and charset != run_charset:
            collapsed.append(((b" " if run_charset is None else b"").join(run), run_charset))
            run = []
        if not run:
            run_charset = charset
        run.append(chunk)
    collapsed.append(((b" " if run_charset is None else b"").join(run), run_charset))
    return collapsed


def _q_decode(encoded: str) -> bytes:
    """The bytes of a "Q" encoded word, as `email.quoprimime.header_decode` gives them.

    `binascii.a2b_qp` does the same in C, except for a lone "=" at the end, "==" (it
    drops one "=") and "=" before a line break: those, and non-ASCII text, take the
    stdlib's way."""
    if (
        encoded.isascii()
        and not encoded.endswith("=")
        and not any(pair in encoded for pair in ("==", "=\r", "=\n"))
    ):
        return binascii.a2b_qp(encoded, header=True)
    return bytes(email.quoprimime.header_decode(encoded), "raw-unicode-escape")


def _raw_header(msg: Message, name: str) -> str | None:
    """The header as it came (raw 8-bit bytes as surrogate escapes), first occurrence."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return None


def _header(msg: Message, name: str) -> str:
    try:
        return decode_header(_raw_header(msg, name))
    except Exception:
        return ""


def _message_ids(value: str) -> list[str]:
    found = MESSAGE_ID.findall(value)
    if not found and value.strip() and " " not in value.strip() and "@" in value:
        found = [value.strip().strip("<>")]
    return [mid[:250] for mid in found]


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:
        pairs = []
    for name, address in pairs:
        address = address.strip().strip("<>").lower()
        if "@" in address and " " not in address and len(address) <= 254:
            result.append((name.strip(), address))
    return result


def normalized_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and ticket tokens, for matching."""
    subject = TICKET_TOKEN.sub("", subject)
    return " ".join(SUBJECT_PREFIX.sub("", subject).split()).lower()


# --- MIME structure ------------------------------------------------------------------------


def _filename(part: Message) -> str:
    raws = {header: _raw_header(part, header) for header in ("Content-Disposition", "Content-Type")}
    if not any(raw is not None and "name" in raw.lower() for raw in raws.values()):
        return ""  # no (file)name parameter: spare the stdlib's parameter parsing
    for header, raw in raws.items():
        if raw is not None and not raw.isascii():
            # Raw 8-bit parameters: decode the bytes first, then let the stdlib parse them.
            fixed = Message()
            fixed[header] = " ".join(_unsurrogate(raw).split())
            part = _with_header(part, fixed, header)
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:
        name = ""
    if isinstance(name, tuple):
        name = email.utils.collapse_rfc2231_value(name)
    return decode_header(name)


def _with_header(part: Message, fixed: Message, header: str) -> Message:
    """A header-only stand-in for `part` whose `header` is replaced by the decoded one."""
    clone = Message()
    for key, value in part.raw_items():
        if key.lower() != header.lower():
            clone[key] = value
    clone[header] = fixed[header]
    return clone


def _payload(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw.encode("utf-8", "surrogateescape")
        else:
            defects.append("undecodable_payload")
            return b""
    return bytes(data) if isinstance(data, bytes | bytearray) else b""


def _part_charset(part: Message, data: bytes) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    if not charset and part.get_content_subtype() == "html":
        found = HTML_META_CHARSET.search(data[:4096])
        charset = found.group(1).decode("ascii", "replace") if found else None
    return charset


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().replace("\x00", "")  # PostgreSQL refuses NUL
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _default_name(content_type: str, index: int) -> str:
    ext = mimetypes.guess_extension(content_type) or ".bin"
    return f"part-{index}{ext}"


class _Walker:
    def __init__(self, parsed: ParsedEmail) -> None:
        self.parsed = parsed
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.index = 0

    def walk(self, part: Message, depth: int = 0) -> None:
        if depth > 30:
            self.parsed.defects.append("nesting_too_deep")
            return
        ctype = _content_type(part)
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if ctype == "multipart/alternative" and children:
                self._alternative(children, depth)
            else:
                for child in children:
                    self.walk(child, depth + 1)
            return
        self.index += 1
        self._leaf(part, ctype)

    def _alternative(self, children: list[Message], depth: int) -> None:
        """Prefer the HTML alternative; keep the plain text one as the text version."""
        typed = [(child, _content_type(child)) for child in children]
        html_child = next((c for c, ctype in typed if ctype == "text/html"), None)
        text_child = next((c for c, ctype in typed if ctype == "text/plain"), None)
        other = [c for c in children if c is not html_child and c is not text_child]
        richest = [c for c in other if c.is_multipart()]
        if html_child is None and richest:
            self.walk(richest[-1], depth + 1)
            if text_child is not None and not self.htmls:
                self.walk(text_child, depth + 1)
            return
        before = len(self.texts)
        if text_child is not None:
            self.walk(text_child, depth + 1)
        if html_child is not None:
            self.walk(html_child, depth + 1)
            if len(self.texts) == before:
                self.texts.append(html_to_text(self.htmls[-1]))
        for child in other:
            if not child.is_multipart() and _filename(child):
                self.walk(child, depth + 1)

    def _leaf(self, part: Message, ctype: str) -> None:
        defects = self.parsed.defects
        name = _filename(part)
        disposition = _disposition(part)
        maintype = ctype.split("/", 1)[0]
        is_body = (
            ctype in ("text/plain", "text/html") and disposition != "attachment" and not name
        ) or (maintype == "text" and not name and disposition == "" and ctype != "text/calendar")
        if is_body and ctype not in ("text/rfc822-headers",):
            data = _payload(part, defects)
            text = decode_text(data, _part_charset(part, data))
            if ctype == "text/html":
                self.htmls.append(text)
            else:
                self.texts.append(text)
            return
        if ctype == "message/rfc822" or ctype == "message/global":
            self._attach_message(part, name)
            return
        data = _payload(part, defects)
        is_tnef = ctype == "application/ms-tnef" or name.lower() == "winmail.dat"
        if is_tnef and self._tnef(data):
            return
        content_id = (_header(part, "Content-ID") or "").strip().strip("<>")
        self.parsed.attachments.append(
            ParsedAttachment(
                filename=name or _default_name(ctype, self.index),
                content_type=ctype,
                data=data,
                content_id=content_id,
                inline=bool(content_id) and disposition != "attachment",
            )
        )

    def _attach_message(self, part: Message, name: str) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            try:
                data = inner.as_bytes()
            except Exception:
                data = str(inner).encode("utf-8", "surrogateescape")
            subject = _header(inner, "Subject")
        else:
            data = _payload(part, self.parsed.defects)
            subject = ""
        if not name:
            stem = re.sub(r"[^\w .-]+", "", subject)[:80].strip() or f"message-{self.index}"
            name = f"{stem}.eml"
        self.parsed.attachments.append(ParsedAttachment(name, "message/rfc822", data))

    def _tnef(self, data: bytes) -> bool:
        """Unpack winmail.dat; False (keep the file as it is) when it is not TNEF."""
        try:
            from tnefparse import TNEF

            tnef = TNEF(data)
            files = [
                ParsedAttachment(
                    filename=decode_header(a.long_filename() or a.name or "") or f"tnef-{i}.bin",
                    content_type=mimetypes.guess_type(a.long_filename() or "")[0]
                    or "application/octet-stream",
                    data=bytes(a.data),
                )
                for i, a in enumerate(tnef.attachments, 1)
            ]
            body = tnef.htmlbody or tnef.body
        except Exception:
            self.parsed.defects.append("tnef_unreadable")
            return False
        if isinstance(body, bytes):
            body = decode_text(body)
        if body and tnef.htmlbody:
            self.htmls.append(body)
        elif body:
            self.texts.append(body)
        self.parsed.attachments.extend(files)
        return True


# --- noise ---------------------------------------------------------------------------------


def _auto_reply(msg: Message, subject: str, sender: str) -> str:
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"auto-submitted: {auto_submitted[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autogenerated"):
        if msg.get(name) is not None:
            return name.lower()
    precedence = (_header(msg, "Precedence") or _header(msg, "X-Precedence")).lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence: {precedence}"
    if AUTO_REPLY_SUBJECT.search(subject):
        return "subject"
    if sender.split("@", 1)[0] in ("noreply", "no-reply", "donotreply", "do-not-reply"):
        return "no-reply sender"
    return ""


def _report(msg: Message) -> Bounce | None:
    """The DSN parts of a multipart/report (RFC 3464): recipients, status, original id."""
    bounce = Bounce()
    for part in msg.walk():
        ctype = _content_type(part)
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            if not isinstance(blocks, list):
                blocks = [email.message_from_string(str(blocks))]
            for block in blocks:
                if not isinstance(block, Message):
                    continue
                recipient = _header(block, "Final-Recipient") or _header(
                    block, "Original-Recipient"
                )
                if not recipient:
                    continue
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                action = _header(block, "Action").lower()
                if action.startswith("delayed"):
                    bounce.delayed.append(address)
                elif action.startswith("failed") or not action:
                    bounce.failed.append(address)
                bounce.status = bounce.status or _header(block, "Status")
                bounce.diagnostic = bounce.diagnostic or _header(block, "Diagnostic-Code")
        elif (
            ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
            and not bounce.original_message_id
        ):
            bounce.original_message_id = _original_id(part)
    return bounce


def _original_id(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        ids = _message_ids(_header(payload[0], "Message-ID"))
        return ids[0] if ids else ""
    text = payload if isinstance(payload, str) else ""
    found = MESSAGE_ID_HEADER.search(text)
    return found.group(1) if found else ""


def _bounce(msg: Message, sender: str, subject: str, text: str) -> Bounce | None:
    ctype = _content_type(msg)
    report_type = str(msg.get_param("report-type") or "").lower() if ctype else ""
    if ctype == "multipart/report" and report_type == "delivery-status":
        return _report(msg)
    if BOUNCE_SENDERS.match(sender) or (not sender and BOUNCE_SUBJECT.search(subject)):
        bounce = Bounce()
        found = MESSAGE_ID_HEADER.search(text)
        bounce.original_message_id = found.group(1) if found else ""
        for part in msg.walk():
            if _content_type(part) in ("message/rfc822", "text/rfc822-headers"):
                bounce.original_message_id = bounce.original_message_id or _original_id(part)
        return bounce
    return None


# --- display -------------------------------------------------------------------------------


def split_quoted(text: str) -> tuple[str, str]:
    """(what the person wrote, quoted history and signature). The full text stays stored."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index == 0 and not stripped:
            continue
        quoted_block = stripped.startswith(">") and all(
            not other.strip() or other.lstrip().startswith(">") for other in lines[index:]
        )
        if QUOTE_HEADER.match(stripped) or SIGNATURE_MARK.match(line.rstrip()) or quoted_block:
            head = "\n".join(lines[:index]).rstrip()
            if head:
                return head, "\n".join(lines[index:]).strip()
    return text, ""


def text_to_html(text: str) -> str:
    """Plain text as HTML, with quoted history and signature folded into a blockquote."""
    visible, quoted = split_quoted(text)
    body = "".join(
        f"<p>{html.escape(chunk).replace(chr(10), '<br>')}</p>"
        for chunk in re.split(r"\n\s*\n", visible.strip())
        if chunk.strip()
    )
    if quoted:
        body += f"<blockquote>{html.escape(quoted).replace(chr(10), '<br>')}</blockquote>"
    return body


def rewrite_cids(html_text: str, urls: dict[str, str]) -> str:
    """Point `cid:` images at the stored attachments."""

    def replace(match: re.Match[str]) -> str:
        url = urls.get(match.group(2).strip().lower())
        return f"{match.group(1)}{url}" if url else match.group(0)

    return CID_REF.sub(replace, html_text)


# --- entry point ---------------------------------------------------------------------------


def parse_headers_only(raw: bytes, *, stored: bool = False) -> ParsedEmail:
    """What the headers say (for a message too large to parse whole). `stored`: only what
    storing needs (Message-ID, sender, subject)."""
    from email.parser import BytesHeaderParser

    head = raw[:262144]
    ends = [at for at in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if at >= 0]
    if ends:
        head = head[: min(ends) + 2]
    try:
        msg = BytesHeaderParser().parsebytes(head)
    except Exception:
        return ParsedEmail(defects=["unparseable"])
    parsed = ParsedEmail()
    _fill_headers(parsed, msg, stored=stored)
    return parsed


def _fill_headers(parsed: ParsedEmail, msg: Message, *, stored: bool = False) -> None:
    ids = _message_ids(_header(msg, "Message-ID"))
    parsed.message_id = ids[0] if ids else ""
    if not stored:
        parsed.in_reply_to = _message_ids(_header(msg, "In-Reply-To"))
        parsed.references = _message_ids(_header(msg, "References"))[-50:]
    parsed.subject = _header(msg, "Subject")[:250]
    senders = _addresses([_header(msg, "From")]) or _addresses([_header(msg, "Sender")])
    if not senders:
        senders = _addresses([_header(msg, "Return-Path")]) or _addresses(
            [_header(msg, "Reply-To")]
        )
    if senders:
        parsed.sender_name, parsed.sender = senders[0]
    if stored:
        return
    parsed.to = [address for _n, address in _addresses([_header(msg, "To")])]
    parsed.cc = [address for _n, address in _addresses([_header(msg, "Cc")])]


def parse(raw: bytes) -> ParsedEmail:
    """Everything a ticket needs from one raw message. Never raises."""
    parsed = ParsedEmail()
    try:
        msg = email.message_from_bytes(raw)
    except Exception:
        parsed.defects.append("unparseable")
        return parsed
    parsed.defects.extend(type(defect).__name__ for defect in getattr(msg, "defects", []))
    _fill_headers(parsed, msg)
    walker = _Walker(parsed)
    try:
        walker.walk(msg)
    except Exception as exc:
        parsed.defects.append(f"walk_failed: {type(exc).__name__}")
    text = "\n\n".join(t.strip("\r\n") for t in walker.texts if t.strip())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw_html = "\n".join(walker.htmls)
    parsed.html = sanitize_html(raw_html) if raw_html.strip() else ""
    parsed.text = text.replace("\x00", "") or html_to_text(parsed.html)
    try:
        parsed.bounce = _bounce(msg, parsed.sender, parsed.subject, parsed.text)
        if parsed.bounce is None:
            parsed.auto_reply = _auto_reply(msg, parsed.subject, parsed.sender)
            ctype = _content_type(msg)
            report = str(msg.get_param("report-type") or "").lower()
            if ctype == "multipart/report" and report:
                parsed.auto_reply = f"report: {report}"
    except Exception as exc:
        parsed.defects.append(f"classify_failed: {type(exc).__name__}")
    return parsed
