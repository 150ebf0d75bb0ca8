"""Authentication (tokens, session + CSRF), scopes and the rate limit through the API."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from helpline.core.api_testing import api_call
from helpline.integrations import services
from helpline.integrations.models import ApiToken

TOKENS = "/api/v1/tokens"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _token(user, scopes=("tickets:read",), **kwargs):
    return services.token_create(actor=None, user=user, name="t", scopes=scopes, **kwargs)


def test_bearer_token_authenticates(client, desk):
    token, plaintext = _token(desk.agent1)
    response = api_call(client, "get", TOKENS, token=plaintext, expect=200)
    assert [item["id"] for item in response.json()["items"]] == [token.pk]


@pytest.mark.parametrize("state", ["revoked", "expired", "invalid"])
def test_bad_tokens_are_401_with_a_reason(client, desk, state):
    token, plaintext = _token(desk.agent1)
    if state == "revoked":
        services.token_revoke(actor=None, token=token)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    else:
        plaintext = plaintext[:-2]
    response = api_call(client, "get", TOKENS, token=plaintext, expect=401)
    expected = {
        "revoked": "Token revoked.",
        "expired": "Token expired.",
        "invalid": "Invalid token.",
    }
    assert response.json()["error"]["message"] == expected[state]


def test_tokens_never_reach_the_logs(client, desk, caplog):
    _t, plaintext = _token(desk.agent1)
    with caplog.at_level(logging.DEBUG):
        api_call(client, "get", TOKENS, token=plaintext, expect=200)
        api_call(client, "get", TOKENS, token=plaintext + "x", expect=401)
    secret = plaintext.split("_", 2)[2]
    assert secret not in caplog.text


def test_session_unsafe_methods_need_csrf(desk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.agent1)
    body = {"name": "CI", "scopes": ["tickets:read"]}
    response = client.post(TOKENS, data=body, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    # Safe methods pass; with the CSRF cookie + header the write passes too
    assert client.get(TOKENS).status_code == 200
    csrf = "b" * 32
    client.cookies["csrftoken"] = csrf
    response = client.post(TOKENS, data=body, content_type="application/json")
    assert response.status_code == 403  # a cookie without the header is not enough
    response = client.post(
        TOKENS, data=body, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 201


def test_token_requests_need_no_csrf(desk):
    _t, plaintext = _token(desk.agent1)
    client = Client(enforce_csrf_checks=True)
    response = api_call(
        client,
        "post",
        TOKENS,
        token=plaintext,
        json={"name": "child", "scopes": ["tickets:read"]},
        expect=201,
    )
    assert response.json()["token"].startswith("hl_")


def test_a_token_cannot_mint_a_stronger_token(client, desk):
    _t, plaintext = _token(desk.agent1, scopes=("tickets:read",))
    response = api_call(
        client,
        "post",
        TOKENS,
        token=plaintext,
        json={"name": "child", "scopes": ["tickets:write"]},
        expect=403,
    )
    assert response.json()["error"]["code"] == "insufficient_scope"


@override_settings(HELPLINE_API_RATE_LIMIT="3/60")
def test_rate_limit_per_token_with_retry_after(client, desk):
    _t, plaintext = _token(desk.agent1)
    _other, other_plain = _token(desk.agent2)
    for _ in range(3):
        api_call(client, "get", TOKENS, token=plaintext, expect=200)
    response = api_call(client, "get", TOKENS, token=plaintext, expect=429)
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token has its own budget
    api_call(Client(), "get", TOKENS, token=other_plain, expect=200)


@override_settings(HELPLINE_API_RATE_LIMIT="2/60")
def test_rate_limit_per_session_user_and_per_ip_for_anonymous(desk):
    signed_in = Client()
    for _ in range(2):
        api_call(signed_in, "get", TOKENS, user=desk.agent1, expect=200)
    api_call(signed_in, "get", TOKENS, expect=429)
    anonymous = Client()
    for _ in range(2):
        api_call(anonymous, "get", TOKENS, expect=401)
    api_call(anonymous, "get", TOKENS, expect=429)
    # Guessing tokens counts against the IP too
    api_call(Client(), "get", TOKENS, token="hl_nope_nope", expect=429)


def test_token_api_create_list_revoke(client, desk):
    response = api_call(
        client,
        "post",
        TOKENS,
        user=desk.agent1,
        json={
            "name": "Laptop",
            "scopes": ["tickets:read", "tickets:write"],
            "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
        },
        expect=201,
    )
    created = response.json()
    plaintext = created["token"]
    assert created["is_active"] is True
    listed = api_call(client, "get", TOKENS, expect=200).json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert "digest" not in listed[0]
    api_call(client, "delete", f"{TOKENS}/{created['id']}", expect=204)
    api_call(Client(), "get", TOKENS, token=plaintext, expect=401)


def test_tokens_of_others_are_404_and_admins_may_act_for_anyone(client, desk):
    token, _plain = _token(desk.agent2)
    api_call(client, "delete", f"{TOKENS}/{token.pk}", user=desk.agent1, expect=404)
    api_call(
        client,
        "post",
        TOKENS,
        json={"name": "x", "scopes": ["tickets:read"], "user_id": desk.agent2.pk},
        expect=404,
    )
    admin = Client()
    response = api_call(
        admin,
        "post",
        TOKENS,
        user=desk.admin,
        json={"name": "x", "scopes": ["users:read"], "user_id": desk.agent2.pk},
        expect=201,
    )
    assert response.json()["user_id"] == desk.agent2.pk
    api_call(admin, "delete", f"{TOKENS}/{token.pk}", expect=204)


def test_customer_token_scopes(client, desk):
    response = api_call(
        client,
        "post",
        TOKENS,
        user=desk.alice,
        json={"name": "x", "scopes": ["users:read"]},
        expect=422,
    )
    assert response.json()["error"]["fields"] == {"scopes": "not_allowed"}
    api_call(client, "post", TOKENS, json={"name": "x", "scopes": ["tickets:read"]}, expect=201)
