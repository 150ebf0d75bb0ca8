"""The API tokens page: list own tokens, create one (plaintext shown once), revoke."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpline.core.testing import PASSWORD
from helpline.integrations import services
from helpline.integrations.models import ApiToken

pytestmark = pytest.mark.django_db

URL = "/account/tokens/"


def client_for(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def test_anonymous_is_sent_to_sign_in(desk: Any) -> None:
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_token_is_created_and_its_plaintext_shown_once(desk: Any) -> None:
    client = client_for(desk.agent1)
    response = client.post(
        URL, {"name": "CI bot", "scopes": ["tickets:read", "tickets:write"], "expires_in": "30"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=desk.agent1, name="CI bot")
    body = response.content.decode()
    start = body.index('data-testid="new-token">') + len('data-testid="new-token">')
    plaintext = body[start : body.index("</code>", start)]
    assert plaintext.startswith(f"hl_{token.prefix}_")
    user, _token = services.token_authenticate(plaintext, None)
    assert user == desk.agent1
    assert sorted(token.scopes) == ["tickets:read", "tickets:write"]
    assert token.expires_at is not None
    # shown once: the list page never shows the secret again
    again = client.get(URL).content.decode()
    assert "CI bot" in again and token.prefix in again
    assert plaintext not in again and "new-token" not in again


def test_customers_are_offered_only_their_scopes(desk: Any) -> None:
    client = client_for(desk.alice)
    body = client.get(URL).content.decode()
    assert 'value="tickets:read"' in body and 'value="users:write"' not in body
    refused = client.post(URL, {"name": "x", "scopes": ["users:write"], "expires_in": ""})
    assert "errorlist" in refused.content.decode()
    assert not ApiToken.objects.filter(user=desk.alice).exists()


def test_revoke_own_token_but_not_anothers(desk: Any) -> None:
    mine, _plain = services.token_create(
        actor=desk.alice, user=desk.alice, name="mine", scopes=["tickets:read"]
    )
    theirs, _plain = services.token_create(
        actor=desk.bob, user=desk.bob, name="theirs", scopes=["tickets:read"]
    )
    client = client_for(desk.alice)
    response = client.post(reverse("integrations:token_revoke", args=[mine.pk]))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert client.post(reverse("integrations:token_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert "theirs" not in client.get(URL).content.decode()


def test_admin_revoking_through_the_page_is_limited_to_own_tokens(desk: Any) -> None:
    theirs, _plain = services.token_create(
        actor=desk.bob, user=desk.bob, name="theirs", scopes=["tickets:read"]
    )
    response = client_for(desk.admin).post(reverse("integrations:token_revoke", args=[theirs.pk]))
    assert response.status_code == 404
