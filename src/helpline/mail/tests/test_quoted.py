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


OUTLOOK_DESKTOP = (
    '<div class="WordSection1"><p class="MsoNormal">The invoice is paid now, thank you.</p>'
    '<p class="MsoNormal">&nbsp;</p><p class="MsoNormal">Kind regards, Ivan</p>'
    '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt">'
    '<p class="MsoNormal"><b>From:</b> Support &lt;support@helpline.test&gt;<br>'
    "<b>Sent:</b> Monday, March 2, 2026 10:00 AM<br><b>To:</b> Ivan<br>"
    "<b>Subject:</b> [#12] Invoice</p></div></div>"
    '<p class="MsoNormal">Please pay invoice 42.</p><p class="MsoNormal">Support</p></div>'
)
OWA_RUSSIAN = (
    "<div>Счёт оплачен.</div><hr>"
    '<div id="divRplyFwdMsg"><font><b>От:</b> Support &lt;support@helpline.test&gt;<br>'
    "<b>Отправлено:</b> 2 марта 2026 г. 10:00<br><b>Кому:</b> Иван<br>"
    "<b>Тема:</b> Счёт</font><div>&nbsp;</div></div><div>Оплатите счёт 42.</div>"
)
FOXMAIL_CHINESE = (
    "<div>发票已支付。</div><div>&nbsp;</div>"
    "<div><div>发件人：Support &lt;support@helpline.test&gt;</div>"
    "<div>发送时间：2026年3月2日 10:00</div><div>主题：发票</div></div>"
    "<div>请支付发票42。</div>"
)


def _fold_parts(html: str) -> tuple[str, str]:
    """(text outside the folded part, text inside it) of the filter's output."""
    folds = _Folds()
    folds.feed(f'<div class="body">{fold_quoted(html, "email")}</div>')
    assert folds.details_open == [False]
    return " ".join(folds.outside), " ".join(folds.inside)


def test_outlook_style_history_without_a_blockquote_is_folded() -> None:
    from helpline.mail.parsing import sanitize_html

    for html, reply, history in (
        (OUTLOOK_DESKTOP, "The invoice is paid now", "Please pay invoice 42."),
        (OWA_RUSSIAN, "Счёт оплачен.", "Оплатите счёт 42."),
        (FOXMAIL_CHINESE, "发票已支付。", "请支付发票42。"),
    ):
        stored = sanitize_html(html)  # as processing stores it
        outside, inside = _fold_parts(stored)
        assert reply in outside and history not in outside, html
        assert history in inside and reply not in inside, html
        # nothing is lost: without the wrapper it is the stored HTML
        folded = str(fold_quoted(stored, "email"))
        opening = '<details class="quoted"><summary>Show quoted text</summary>'
        assert folded.replace(opening, "").replace("</details>", "") == stored


def test_a_header_block_alone_or_without_a_date_is_not_folded() -> None:
    forward = "<div><b>From:</b> Ivan<br><b>Sent:</b> Monday<br>Old text</div>"
    assert fold_quoted(forward, "email") == forward
    no_date = "<p>Thanks!</p><p>From: the accounts team</p><p>We paid it.</p>"
    assert fold_quoted(no_date, "email") == no_date


def test_an_outlook_reply_from_the_corpus_is_folded_on_the_desk(
    client: Any, desk: Any, mailbox: Any
) -> None:
    from .conftest import CORPUS, need_corpus

    need_corpus()
    raw = (CORPUS / "spamscope-mail-parser" / "mail_test_7").read_bytes()
    stored, _ = services.store_raw(mailbox=mailbox, raw=raw, source="test")
    row = services.process_inbound(stored.pk)
    assert row is not None and row.ticket is not None
    client.force_login(desk.agent1)
    page = client.get(reverse("tickets:desk_ticket", args=[row.ticket.pk]))
    folds = _folds(page.content.decode())
    assert folds.details_open == [False]
    inside, outside = " ".join(folds.inside), " ".join(folds.outside)
    assert "Ciao sere mi puoi dire se il mio cliente deve fare questa dichiarazione?" in outside
    assert "Inviato:" in inside and "Inviato:" not in outside
    assert "Buongiorno Mariachiara" in inside
