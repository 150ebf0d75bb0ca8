"""Sign-up with e-mail verification, magic links, password reset and their rate limits."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core import mail, signing
from django.test import Client, override_settings
from django.urls import reverse

from helpline.accounts import selfservice
from helpline.accounts.models import User
from helpline.core.testing import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-longer-new-password-42"


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    """`with commit(): ...` runs the after-commit hooks (the e-mails) of what is inside."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def link_path(message: Any) -> str:
    """The path of the (only) link in an e-mail's body."""
    urls = re.findall(r"https?://\S+", message.body)
    assert len(urls) == 1, message.body
    return "/" + urls[0].split("/", 3)[3]


def sign_up(client: Client, email: str = "erin@example.test", **extra: Any) -> Any:
    data = {
        "display_name": "Erin New",
        "email": email,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "time_zone": "Europe/Moscow",
        **extra,
    }
    return client.post(reverse("accounts:signup"), data)


def test_sign_up_then_verify_then_sign_in(desk: Any, commit: Any) -> None:
    # Given a visitor who signs up
    client = Client()
    with commit():
        response = sign_up(client)
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    user = User.objects.get(email="erin@example.test")
    assert not user.is_active and user.time_zone == "Europe/Moscow"
    # Then they cannot sign in before confirming, and are told why
    login = client.post(
        reverse("accounts:login"), {"username": user.email, "password": NEW_PASSWORD}
    )
    assert "Please confirm your e-mail address first" in login.content.decode()
    # When they open the confirmation link
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    assert mail.outbox[0].subject == "Confirm your e-mail address"
    confirm = client.get(link_path(mail.outbox[0]))
    assert confirm["Location"] == reverse("accounts:login")
    user.refresh_from_db()
    assert user.is_active
    # Then they sign in with the password; the confirmation link works only once
    signed_in = client.post(
        reverse("accounts:login"), {"username": user.email, "password": NEW_PASSWORD}
    )
    assert signed_in["Location"] == reverse("tickets:portal")
    again = Client().get(link_path(mail.outbox[0]))
    assert again.status_code == 400
    assert "This confirmation link is not valid any more" in again.content.decode()


def test_sign_up_in_russian_sends_a_russian_e_mail(desk: Any, commit: Any) -> None:
    client = Client(headers={"accept-language": "ru"})
    with commit():
        sign_up(client, email="ivan@example.test")
    user = User.objects.get(email="ivan@example.test")
    assert user.language == "ru"
    assert mail.outbox[0].subject == "Подтвердите адрес электронной почты"


def test_sign_up_with_a_known_address_reveals_nothing(desk: Any, commit: Any) -> None:
    with commit():
        response = sign_up(Client(), email=desk.alice.email)
    assert "Check your e-mail" in response.content.decode()
    assert User.objects.filter(email=desk.alice.email).count() == 1
    assert mail.outbox[0].to == [desk.alice.email]
    assert mail.outbox[0].subject == "You already have an account"
    assert reverse("accounts:password_reset") in mail.outbox[0].body


def test_sign_up_validates_the_password(desk: Any) -> None:
    response = sign_up(Client(), password1="short", password2="short")
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    mismatch = sign_up(Client(), password2="something-else-entirely")
    assert "The two passwords differ." in mismatch.content.decode()
    assert not User.objects.filter(email="erin@example.test").exists()


def test_magic_link_signs_in_once(desk: Any, commit: Any) -> None:
    # Given Alice asks for a sign-in link
    client = Client()
    with commit():
        response = client.post(reverse("accounts:magic_link_request"), {"email": "ALICE@acme.test"})
    assert "Check your e-mail" in response.content.decode()
    assert mail.outbox[0].to == [desk.alice.email]
    path = link_path(mail.outbox[0])
    # When she opens it, a button asks to confirm (mail scanners do not sign in)
    page = client.get(path)
    assert page.status_code == 200 and desk.alice.email in page.content.decode()
    assert "_auth_user_id" not in client.session
    # Then pressing it signs her in
    signed_in = client.post(path)
    assert signed_in["Location"] == reverse("tickets:portal")
    assert client.session["_auth_user_id"] == str(desk.alice.pk)
    # And the link does not work again
    reused = Client().get(path)
    assert reused.status_code == 400
    assert "This sign-in link was already used. Ask for a new one." in reused.content.decode()
    assert Client().post(path).status_code == 400


def test_magic_link_expires(desk: Any, monkeypatch: Any) -> None:
    # Given a link made longer ago than its lifetime (the signer reads time.time)
    made_at = time.time() - selfservice.MAGIC_LINK_MAX_AGE - 5
    with monkeypatch.context() as patch:
        patch.setattr("time.time", lambda: made_at)
        token = selfservice.magic_link_token(desk.alice)
    # Then it is refused with a clear message
    response = Client().get(reverse("accounts:magic_link", args=[token]))
    assert response.status_code == 400
    assert "This sign-in link has expired. Ask for a new one." in response.content.decode()


def test_forged_magic_link_is_refused(desk: Any) -> None:
    token = signing.dumps({"u": desk.alice.pk, "l": ""}, salt="another-salt")
    response = Client().post(reverse("accounts:magic_link", args=[token]))
    assert response.status_code == 400
    assert "This sign-in link is not valid." in response.content.decode()


def test_magic_link_for_an_unknown_address_sends_nothing(desk: Any, commit: Any) -> None:
    with commit():
        response = Client().post(
            reverse("accounts:magic_link_request"), {"email": "nobody@example.test"}
        )
    assert response.status_code == 200 and "Check your e-mail" in response.content.decode()
    assert mail.outbox == []


def test_password_reset_in_the_users_language(desk: Any) -> None:
    from helpline.accounts import services

    services.user_update(actor=desk.carol, user=desk.carol, language="zh-hans")
    client = Client()
    response = client.post(reverse("accounts:password_reset"), {"email": desk.carol.email})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox[0].subject == "设置新密码"
    path = link_path(mail.outbox[0])
    # Django redirects the token URL to a session-held one, then accepts the new password
    form_url = client.get(path)["Location"]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("accounts:login")
    assert Client().login(username=desk.carol.email, password=NEW_PASSWORD)
    used = Client().get(path)
    assert "This link is not valid any more" in used.content.decode()


def test_password_reset_lets_a_customer_without_password_set_one(desk: Any) -> None:
    from helpline.accounts import services

    customer = services.user_create(actor=None, email="mailonly@example.test")
    assert not customer.has_usable_password()
    Client().post(reverse("accounts:password_reset"), {"email": customer.email})
    assert mail.outbox[0].to == [customer.email]


def test_sign_in_is_rate_limited(desk: Any) -> None:
    client = Client()
    url = reverse("accounts:login")
    with override_settings(HELPLINE_SIGNIN_RATE_LIMIT="3/300"):
        for _ in range(3):
            response = client.post(url, {"username": desk.alice.email, "password": "wrong"})
            assert response.status_code == 200
        blocked = client.post(url, {"username": desk.alice.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "Too many attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_client_address_gets_ten_times_the_limit(desk: Any) -> None:
    url = reverse("accounts:password_reset")
    with override_settings(HELPLINE_SIGNIN_RATE_LIMIT="1/300"):
        statuses = [
            Client().post(url, {"email": f"person{index}@example.test"}).status_code
            for index in range(11)
        ]
    assert statuses == [302] * 10 + [429]


def test_magic_link_requests_are_rate_limited_per_address(desk: Any, commit: Any) -> None:
    url = reverse("accounts:magic_link_request")
    with override_settings(HELPLINE_SIGNIN_RATE_LIMIT="2/300"):
        for _ in range(2):
            with commit():
                Client(REMOTE_ADDR="10.0.0.1").post(url, {"email": desk.alice.email})
        other_ip = Client(REMOTE_ADDR="10.0.0.2").post(url, {"email": desk.alice.email})
    assert other_ip.status_code == 429
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("accounts:login", {"username": "alice@acme.test", "password": PASSWORD}),
        ("accounts:signup", {"email": "x@example.test"}),
        ("accounts:magic_link_request", {"email": "alice@acme.test"}),
        ("accounts:password_reset", {"email": "alice@acme.test"}),
    ],
)
def test_account_forms_enforce_csrf(desk: Any, name: str, data: dict[str, str]) -> None:
    response = Client(enforce_csrf_checks=True).post(reverse(name), data)
    assert response.status_code == 403


def test_magic_link_sign_in_enforces_csrf(desk: Any) -> None:
    token = selfservice.magic_link_token(desk.alice)
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse("accounts:magic_link", args=[token])).status_code == 403


@pytest.mark.parametrize(
    "name",
    ["accounts:login", "accounts:signup", "accounts:magic_link_request", "accounts:password_reset"],
)
def test_account_pages_render_with_labels(desk: Any, name: str) -> None:
    body = Client().get(reverse(name)).content.decode()
    inputs = re.findall(r'<input[^>]+type="(?:email|password|text)"[^>]*id="([^"]+)"', body)
    assert inputs
    for input_id in inputs:
        assert f'for="{input_id}"' in body


def test_change_password_asks_for_the_old_one(desk: Any) -> None:
    client = Client()
    assert client.login(username=desk.alice.email, password=PASSWORD)
    url = reverse("accounts:password_change")
    assert 'name="old_password"' in client.get(url).content.decode()
    wrong = client.post(
        url,
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200 and "errorlist" in wrong.content.decode()
    done = client.post(
        url,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done["Location"] == reverse("accounts:settings")
    assert Client().login(username=desk.alice.email, password=NEW_PASSWORD)


def test_customer_without_a_password_sets_one_after_a_magic_link(desk: Any) -> None:
    from helpline.accounts import services

    customer = services.user_create(actor=None, email="linkonly@example.test")
    client = Client()
    client.post(reverse("accounts:magic_link", args=[selfservice.magic_link_token(customer)]))
    settings_page = client.get(reverse("accounts:settings")).content.decode()
    assert "Set a password" in settings_page
    page = client.get(reverse("accounts:password_change")).content.decode()
    assert 'name="old_password"' not in page
    client.post(
        reverse("accounts:password_change"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert Client().login(username=customer.email, password=NEW_PASSWORD)
