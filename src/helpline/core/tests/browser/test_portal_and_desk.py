"""A request's whole journey in a real browser: a customer (Russian UI, from the browser's
language) submits it in the portal; an L1 agent sees it in the queue, replies and escalates
it with a hand-off note; an L2 agent (Chinese UI, their own choice) solves it; the customer
sees the reply and the status; a customer of another organization gets a 404."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from helpline.core.testing import PASSWORD

from .conftest import DESKTOP, PHONE, in_thread

pytestmark = pytest.mark.browser


def sign_in(page: Any, user: Any) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/(desk/)?$"))


def shoot(page: Any, folder: Path, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000
    page.set_viewport_size(DESKTOP)


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map(el => el.name || el.id)"""


LOW_CONTRAST = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll('body *')]
    .filter(el => el.offsetParent !== null && [...el.childNodes].some(
      n => n.nodeType === 3 && n.textContent.trim()))
    .map(el => {
      const style = getComputedStyle(el);
      const [a, b] = [lum(rgb(style.color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const large = parseFloat(style.fontSize) >= 24 ||
        (parseFloat(style.fontSize) >= 18.66 && parseInt(style.fontWeight) >= 700);
      return {text: el.textContent.trim().slice(0, 30), ratio, needed: large ? 3 : 4.5};
    })
    .filter(item => item.ratio < item.needed);
}"""


def check_accessible_and_narrow(page: Any) -> None:
    """Every visible form control has a label, text meets WCAG AA contrast, the first Tab
    reaches the skip link, and the page fits a 360 px wide phone without sideways scrolling."""
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert page.evaluate(LOW_CONTRAST) == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size(DESKTOP)


def test_request_goes_from_the_portal_through_two_lines_and_back(
    browser_desk: Any, open_context: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    from helpline.accounts import services as accounts
    from helpline.tickets import catalog
    from helpline.tickets.models import Ticket

    desk = browser_desk
    in_thread(catalog.category_create, actor=desk.admin, name="Billing")
    in_thread(accounts.user_update, actor=desk.agent2, user=desk.agent2, language="zh-hans")
    subject = "Invoice 1042 charged twice"

    # A customer whose browser asks for Russian submits a request with an attachment
    customer = open_context(locale="ru-RU").new_page()
    sign_in(customer, desk.alice)
    expect(customer.locator("html")).to_have_attribute("lang", "ru")
    expect(customer.locator("h1")).to_have_text("Обращения Acme")  # her organization's
    check_accessible_and_narrow(customer)
    customer.goto("/requests/new/")
    expect(customer.locator("h1")).to_have_text("Отправить обращение")
    check_accessible_and_narrow(customer)
    customer.fill("input[name=subject]", subject)
    customer.fill("textarea[name=description]", "The card was charged twice on 3 March.")
    customer.select_option("select[name=category]", label="Billing")
    customer.set_input_files(
        "input[name=attachments]",
        files=[{"name": "statement.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}],
    )
    customer.click("main form button[type=submit]")
    expect(customer.locator(".alert-success")).to_contain_text("Спасибо")
    expect(customer.locator("#thread")).to_contain_text("statement.pdf")
    ticket = in_thread(Ticket.objects.get, subject=subject)

    # An L1 agent sees it in their teams' queue, replies, and escalates it to L2
    agent = open_context().new_page()
    sign_in(agent, desk.agent1)
    agent.goto("/desk/?view=team")
    agent.get_by_role("link", name=subject).click()
    expect(agent.locator("h1")).to_contain_text(subject)
    agent.fill("form[action$='/reply/'] textarea[name=body]", "We are checking the payment.")
    agent.click("form[action$='/reply/'] button[type=submit]")
    expect(agent.locator("#thread")).to_contain_text("We are checking the payment.")
    agent.fill("form[action$='/escalate/'] textarea[name=note]", "Double charge: needs billing L2.")
    agent.click("form[action$='/escalate/'] button[type=submit]")
    expect(agent.locator("#ticket-page")).to_contain_text("The ticket is escalated.")
    shoot(agent, screenshots, "desk-ticket")

    # An L2 agent working in Chinese finds it in their queue with the note, and solves it
    l2 = open_context().new_page()
    sign_in(l2, desk.agent2)
    l2.goto("/desk/?view=team")
    expect(l2.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(l2.locator("main")).to_contain_text("我的团队，未分配")
    l2.get_by_role("link", name=subject).click()
    expect(l2.locator("#ticket-page")).to_contain_text("Double charge: needs billing L2.")
    l2.fill("form[action$='/reply/'] textarea[name=body]", "Refunded; sorry for the trouble.")
    l2.select_option("form[action$='/reply/'] select[name=status]", "solved")
    l2.click("form[action$='/reply/'] button[type=submit]")
    expect(l2.locator("#thread")).to_contain_text("Refunded; sorry for the trouble.")
    expect(l2.locator("#ticket-page .badge-solved").first).to_have_text("已解决")

    # The customer sees both replies, not the hand-off note, and the status, in Russian
    customer.reload()
    expect(customer.locator("#thread")).to_contain_text("Refunded; sorry for the trouble.")
    expect(customer.locator("#thread")).to_contain_text("We are checking the payment.")
    expect(customer.locator("#thread")).not_to_contain_text("Double charge")
    expect(customer.locator("#request-status")).to_have_text("Решена")
    check_accessible_and_narrow(customer)
    shoot(customer, screenshots, "portal-request")

    # A customer of another organization gets a 404 on the same address
    other = open_context().new_page()
    sign_in(other, desk.carol)
    response = other.goto(f"/requests/{ticket.pk}/")
    assert response is not None and response.status == 404


def test_visitor_in_chinese_submits_without_an_account_and_follows_by_link(
    browser_desk: Any, open_context: Any
) -> None:
    from playwright.sync_api import expect

    # A visitor whose browser asks for Chinese submits a request with a contact address
    page = open_context(locale="zh-CN").new_page()
    page.goto("/")
    expect(page.locator("h1")).to_have_text("有什么可以帮您？")
    page.get_by_role("link", name="提交请求").first.click()
    page.fill("input[name=email]", "mei@example.test")
    page.fill("input[name=subject]", "打印机无法连接")
    page.fill("textarea[name=description]", "办公室的打印机从昨天起无法连接。")
    page.click("main form button[type=submit]")
    expect(page.locator("#request-received")).to_contain_text("mei@example.test")

    # The e-mail (in Chinese) carries a link that opens the request without a password
    (message,) = [m for m in mail.outbox if "/follow/" in str(m.body)]
    assert message.to == ["mei@example.test"] and "已收到" in message.subject  # in Chinese
    link = re.findall(r"https?://\S+/follow/\S+", str(message.body))[0]
    page.goto("/" + link.split("/", 3)[3])
    expect(page.locator("#thread")).to_contain_text("办公室的打印机从昨天起无法连接。")
    page.fill("textarea[name=body]", "今天还是不行。")
    page.click("form[enctype] button[type=submit]")
    expect(page.locator("#thread")).to_contain_text("今天还是不行。")
