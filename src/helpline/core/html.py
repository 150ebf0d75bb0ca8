"""HTML sanitizing: every piece of user HTML passes through here before it is stored."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}

_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-4]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control_chars(value: str) -> str:
    """Drop C0 control characters other than tab and line breaks (PostgreSQL rejects NUL)."""
    return _CONTROL.sub("", value)


def sanitize_html(value: str) -> str:
    """Keep formatting, drop scripts, event handlers, styles and unsafe URLs."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(value: str) -> str:
    """A readable plain-text version of (sanitized or raw) HTML."""
    if not value:
        return ""
    with_breaks = _BLOCK_END.sub(lambda m: m.group(0) + "\n", value)
    text = html.unescape(nh3.clean(with_breaks, tags=set(), attributes={}))
    lines = [line.strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
