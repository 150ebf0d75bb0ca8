"""Sign in and out, the language switch, per-user language and time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpline.accounts import services
from helpline.core.testing import PASSWORD
from helpline.tickets import services as ticket_services
from helpline.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def test_sign_in_with_email_sends_agents_to_the_desk_and_customers_to_the_portal(
    desk: Any,
) -> None:
    login = reverse("accounts:login")
    page = Client().get(login)
    assert page.status_code == 200 and 'type="email"' in page.content.decode()
    agent = Client().post(login, {"username": "AGENT1@helpline.test", "password": PASSWORD})
    assert agent.status_code == 302 and agent["Location"] == reverse("tickets:desk")
    customer = Client().post(login, {"username": "alice@acme.test", "password": PASSWORD})
    assert customer["Location"] == reverse("tickets:portal")


def test_sign_in_follows_next(desk: Any) -> None:
    response = Client().post(
        reverse("accounts:login") + "?next=/account/tokens/",
        {"username": "alice@acme.test", "password": PASSWORD, "next": "/account/tokens/"},
    )
    assert response["Location"] == "/account/tokens/"


def test_wrong_password_is_refused(desk: Any) -> None:
    response = Client().post(
        reverse("accounts:login"), {"username": "alice@acme.test", "password": "nope"}
    )
    assert response.status_code == 200
    assert "The e-mail address or the password is not correct." in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def test_sign_in_enforces_csrf(desk: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("accounts:login"), {"username": "alice@acme.test", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_sign_out_is_a_post(desk: Any) -> None:
    client = client_for(desk.alice)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response["Location"] == reverse("accounts:login")
    assert client.get(reverse("accounts:settings")).status_code == 302


def test_language_switch_is_stored_on_the_user_and_renders_russian(desk: Any) -> None:
    client = client_for(desk.alice)
    response = client.post(reverse("accounts:language"), {"language": "ru", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    desk.alice.refresh_from_db()
    assert desk.alice.language == "ru"
    body = client.get(reverse("tickets:portal")).content.decode()
    assert 'lang="ru"' in body
    assert "Мои обращения" in body  # "My requests"


def test_chinese_from_the_browser_when_the_user_chose_nothing(desk: Any) -> None:
    client = client_for(desk.agent1)
    body = client.get(reverse("tickets:desk"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content
    text = body.decode()
    assert 'lang="zh-hans"' in text
    assert "工作台" in text  # "Desk"


def test_the_users_language_wins_over_the_browser(desk: Any) -> None:
    services.user_update(actor=desk.agent1, user=desk.agent1, language="zh-hans")
    client = client_for(desk.agent1)
    text = client.get(reverse("tickets:desk"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "工作台" in text


def test_anonymous_language_switch_uses_a_cookie(desk: Any) -> None:
    client = Client()
    response = client.post(reverse("accounts:language"), {"language": "ru", "next": "//evil.test/"})
    assert response["Location"] == reverse("tickets:portal")  # no open redirect
    assert client.cookies["django_language"].value == "ru"
    assert "Войти" in client.get(reverse("accounts:login")).content.decode()  # "Sign in"


def test_time_zone_of_the_user_applies_to_dates(desk: Any) -> None:
    ticket = ticket_services.ticket_create(actor=desk.alice, subject="Clock", body="tick")
    Ticket.objects.filter(pk=ticket.pk).update(created_at=datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
    client = client_for(desk.alice)
    url = reverse("tickets:portal_request", args=[ticket.pk])
    assert "2026-01-05T23:30:00+00:00" in client.get(url).content.decode()
    client.post(
        reverse("accounts:settings"),
        {"display_name": "Alice", "phone": "", "language": "", "time_zone": "Asia/Tokyo"},
    )
    desk.alice.refresh_from_db()
    assert desk.alice.time_zone == "Asia/Tokyo"
    assert "2026-01-06T08:30:00+09:00" in client.get(url).content.decode()


def test_preferences_page_renders_and_requires_sign_in(desk: Any) -> None:
    assert Client().get(reverse("accounts:settings")).status_code == 302
    response = client_for(desk.bob).get(reverse("accounts:settings"))
    assert response.status_code == 200 and "Europe/Moscow" in response.content.decode()
