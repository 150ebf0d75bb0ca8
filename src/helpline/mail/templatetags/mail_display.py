"""`{{ message.body_html|fold_quoted:message.channel }}`: quoted history folded away.

Mail processing keeps the quoted history and signature of a message in a `<blockquote>`
(plain-text mail) or as the sender's mail program quoted it (HTML mail). At render time
every outermost blockquote of an e-mail message is wrapped in a closed
`<details><summary>Show quoted text</summary>...</details>`; the stored HTML stays as it
is, and nothing is removed from the page. A message that is nothing but a quote is shown
as it is. The body was sanitized when it was stored, so its tags are balanced.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()

BLOCKQUOTE_TAG = re.compile(r"<(/?)blockquote\b[^>]*>", re.IGNORECASE)
ANY_TAG = re.compile(r"<[^>]*>")


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


@register.filter
def fold_quoted(body_html: str, channel: str = "email") -> SafeString:
    """The stored (sanitized) HTML body with quoted parts of e-mail folded away."""
    body = str(body_html or "")
    spans = _quotes(body) if channel == "email" else []
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
