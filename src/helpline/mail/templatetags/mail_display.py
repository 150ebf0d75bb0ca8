"""`{{ message.body_html|fold_quoted:message.channel }}`: quoted history folded away.

Mail processing keeps the quoted history and signature of a message in a `<blockquote>`
(plain-text mail) or as the sender's mail program quoted it (HTML mail). At render time
every outermost blockquote of an e-mail message is wrapped in a closed
`<details><summary>Show quoted text</summary>...</details>`, and so is the history that
Outlook-style programs quote without a blockquote: from a header block naming the sender
and the date (`From: ... Sent: ...`, `Da: ... Inviato: ...`, `От: ... Отправлено: ...`,
`发件人: ... 发送时间: ...`) to the end of the part it starts. The stored HTML stays as it
is, and nothing is removed from the page. A message that is nothing but a quote is shown
as it is. The body was sanitized when it was stored, so its tags are balanced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()

BLOCKQUOTE_TAG = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)
ANY_TAG = re.compile(r"<[^>]*>")

# The first two lines of a quoted message's header block, as mail programs write them in
# the languages of our users and of the corpus: the sender, then the date it was sent.
FROM_LABEL = re.compile(
    r"^\s*(from|von|de|da|van|fra|från|od|от|від|发件人|寄件者|差出人|送信者|보낸 사람)\s*[:：]",
    re.IGNORECASE,
)
SENT_LABEL = re.compile(
    r"^\s*(sent|date|gesendet|datum|envoyé|inviato|data|enviado|fecha|verzonden|sendt|"
    r"skickat|wysłano|отправлено|дата|надіслано|发送时间|日期|時間|寄件日期|送信日時|"
    r"날짜|보낸 날짜)\s*[:：]",
    re.IGNORECASE,
)
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
BLOCKS = frozenset({"div", "p", "td", "li", "section", "article", "table", "tbody", "tr"})


def _quotes(body: str) -> list[tuple[int, int]]:
    """(start, end) of every outermost blockquote."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for match in BLOCKQUOTE_TAG.finditer(body):
        if not match.group(1):
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, match.end()))
    return spans


@dataclass
class _Node:
    """An element of the body: where it starts, where its content ends, its children."""

    tag: str
    start: int
    content_end: int = -1
    children: list[_Node | str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Its text, a line per `<br>` and per block (blank lines left out)."""
        return [line for line in self._lines() if line.strip()]

    def _lines(self) -> list[str]:
        lines = [""]
        for child in self.children:
            if isinstance(child, str):
                lines[-1] += child
            elif child.tag == "br":
                lines.append("")
            elif child.tag in BLOCKS:
                lines += [*child._lines(), ""]
            else:
                first, *rest = child._lines()
                lines[-1] += first
                lines += rest
        return lines

    def has_text(self) -> bool:
        return any(
            child.strip().replace("\xa0", "") if isinstance(child, str) else child.has_text()
            for child in self.children
        )


class _Tree(HTMLParser):
    def __init__(self, body: str) -> None:
        super().__init__(convert_charrefs=True)
        self.body = body
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", body)]
        self.root = _Node("", 0, len(body))
        self.open = [self.root]
        self.feed(body)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, self._offset())
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(_Node(tag, self._offset()))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                for node in self.open[depth:]:
                    node.content_end = self._offset()
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def _is_header_block(node: _Node) -> bool:
    lines = node.lines()
    return any(
        FROM_LABEL.match(line) and any(SENT_LABEL.match(later) for later in lines[at + 1 : at + 4])
        for at, line in enumerate(lines)
    )


def _header_path(node: _Node) -> list[_Node] | None:
    """The elements from `node` down to the smallest block holding a header block (the
    first one in the document), blockquotes left out (they fold on their own)."""
    for child in node.children:
        if isinstance(child, str) or child.tag == "blockquote" or child.tag in VOID:
            continue
        if _is_header_block(child):
            deeper = _header_path(child)
            return [child, *(deeper or [])]
    return None


def _outlook_quote(body: str) -> tuple[int, int] | None:
    """(start, end) of history quoted without a blockquote: from the outermost element,
    on the way down to the header block, that has text before it in its parent, to the
    end of that parent."""
    text = ANY_TAG.sub("\n", body)
    if not any(SENT_LABEL.match(line) for line in text.splitlines() if ":" in line or "：" in line):
        return None  # no header block anywhere: the common case, without building a tree
    tree = _Tree(body)
    path = _header_path(tree.root)
    if not path:
        return None
    parent = tree.root
    for node in path:
        before = parent.children[: parent.children.index(node)]
        if any(
            (child.strip().replace("\xa0", "") if isinstance(child, str) else child.has_text())
            for child in before
        ):
            end = parent.content_end if parent.content_end >= 0 else len(body)
            return node.start, end
        parent = node
    return None


@register.filter
def fold_quoted(body_html: str, channel: str = "email") -> SafeString:
    """The stored (sanitized) HTML body with quoted parts of e-mail folded away."""
    body = str(body_html or "")
    spans = _quotes(body) if channel == "email" else []
    outlook = _outlook_quote(body) if channel == "email" else None
    if outlook is not None:
        start, end = outlook
        spans = sorted([span for span in spans if span[1] <= start or span[0] >= end] + [outlook])
    outside: list[str] = []
    cursor = 0
    for start, end in spans:
        outside.append(body[cursor:start])
        cursor = end
    outside.append(body[cursor:])
    if not spans or not ANY_TAG.sub("", "".join(outside)).replace("&nbsp;", "").strip():
        return mark_safe(body)  # noqa: S308 - sanitized when stored
    opening = f'<details class="quoted"><summary>{escape(_("Show quoted text"))}</summary>'
    parts = [outside[0]]
    for (start, end), after in zip(spans, outside[1:], strict=True):
        parts += [opening, body[start:end], "</details>", after]
    return mark_safe("".join(parts))  # noqa: S308 - sanitized when stored, wrapper escaped
