"""Quoted history and signatures are folded away on the desk and the portal, not removed."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.urls import reverse

from helpline.mail import services
from helpline.mail.templatetags.mail_display import fold_quoted
from helpline.mail.tests.conftest import build_email
from helpline.tickets.models import Message

REPLY = (
    "The printer works again, thanks!\n\n"
    "On Mon, 2 Mar 2026 at 10:00, Support <support@helpline.test> wrote:\n"
    "> Please switch it off and on again.\n"
    "> Kind regards\n"
)


class _Folds(HTMLParser):
    """Text of the message bodies, split into what is inside a <details> and what is not;
    whether each <details> is open."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.in_body = 0
        self.inside: list[str] = []
        self.outside: list[str] = []
        self.details_open: list[bool] = []
        self.summaries: list[str] = []
        self._summary = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div" and (self.in_body or "body" in classes):
            self.in_body += 1
        if self.in_body and tag == "details":
            self.depth += 1
            self.details_open.append("open" in dict(attrs))
        self._summary = tag == "summary"

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self.in_body:
            self.depth -= 1
        if tag == "div" and self.in_body:
            self.in_body -= 1
        if tag == "summary":
            self._summary = False

    def handle_data(self, data: str) -> None:
        if not self.in_body:
            return
        if self._summary:
            self.summaries.append(data)
        else:
            (self.inside if self.depth else self.outside).append(data)


def _folds(page: str) -> _Folds:
    parser = _Folds()
    parser.feed(page)
    return parser


def _ticket(desk: Any, mailbox: Any) -> Any:
    stored, _ = services.store_raw(mailbox=mailbox, raw=build_email(body=REPLY), source="test")
    row = services.process_inbound(stored.pk)
    assert row is not None and row.ticket is not None
    return row.ticket


def test_quoted_history_is_folded_on_the_desk_and_the_portal(
    client: Any, desk: Any, mailbox: Any
) -> None:
    ticket = _ticket(desk, mailbox)
    stored = Message.objects.get(ticket=ticket).body_html
    assert "<details" not in stored  # folding happens when shown, the stored HTML is as it was
    for user, url in (
        (desk.agent1, reverse("tickets:desk_ticket", args=[ticket.pk])),
        (desk.dave, reverse("tickets:portal_request", args=[ticket.pk])),
    ):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        folds = _folds(response.content.decode())
        assert folds.details_open == [False], url
        assert [text.strip() for text in folds.summaries] == ["Show quoted text"]
        inside, outside = " ".join(folds.inside), " ".join(folds.outside)
        assert "The printer works again, thanks!" in outside
        assert "Please switch it off and on again." in inside
        assert "Kind regards" in inside
        assert "wrote:" in inside and "Please switch" not in outside


def test_only_e_mail_with_something_besides_the_quote_is_folded() -> None:
    body = "<p>Answer</p><blockquote>old <blockquote>older</blockquote> tail</blockquote><p>PS</p>"
    folded = fold_quoted(body, "email")
    assert folded.count("<details") == 1
    assert (
        folded.replace('<details class="quoted"><summary>Show quoted text</summary>', "").replace(
            "</details>", ""
        )
        == body
    )
    assert folded.index("</details>") > folded.index("tail</blockquote>")
    assert fold_quoted(body, "web") == body
    assert fold_quoted("<blockquote>only a forward</blockquote>", "email") == (
        "<blockquote>only a forward</blockquote>"
    )
    assert fold_quoted("<p>no quote</p>", "email") == "<p>no quote</p>"
