from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from helpline.core.errors import AuthenticationFailed, PermissionDenied, ValidationError
from helpline.integrations import services
from helpline.integrations.events import TokenCreated, TokenRevoked
from helpline.integrations.models import ApiToken


def test_create_returns_plaintext_once_and_stores_only_a_digest(desk, capture_events):
    # When an agent creates a token for themselves
    token, plaintext = services.token_create(
        actor=desk.agent1, user=desk.agent1, name="CI", scopes=["tickets:read", "tickets:read"]
    )
    # Then the plaintext has the documented shape and is not stored anywhere
    mark, prefix, secret = plaintext.split("_", 2)
    assert (mark, prefix) == ("hl", token.prefix)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {stored.digest, stored.prefix, stored.name}
    assert stored.scopes == ["tickets:read"]
    assert capture_events.of(TokenCreated) == [
        {"token_id": token.pk, "user_id": desk.agent1.pk, "scopes": ["tickets:read"]}
    ]


def test_authenticate_accepts_the_token_and_records_use(desk):
    token, plaintext = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    user, found = services.token_authenticate(plaintext, "10.0.0.1")
    assert (user, found.pk) == (desk.agent1, token.pk)
    token.refresh_from_db()
    assert token.last_used_ip == "10.0.0.1"
    assert token.last_used_at is not None


def test_authenticate_loads_token_and_user_as_the_orm_does(desk, django_assert_num_queries):
    token, plaintext = services.token_create(
        actor=None,
        user=desk.alice,
        name="CI",
        scopes=["tickets:read", "tickets:write"],
        expires_at=timezone.now() + timedelta(days=3),
    )
    user, found = services.token_authenticate(plaintext, "10.0.0.1")
    stored = ApiToken.objects.select_related("user__organization").get(pk=token.pk)

    def fields(instance):
        return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}

    assert fields(found) == fields(stored)
    assert fields(user) == fields(stored.user)
    assert found.user is user
    assert found.scopes == ["tickets:read", "tickets:write"]
    assert found.expires_at is not None and found.expires_at.tzinfo is not None
    with django_assert_num_queries(0):  # read with the user: what a customer sees needs it
        assert fields(user.organization) == fields(stored.user.organization)
    assert user.organization == desk.acme
    assert not found._state.adding and not user._state.adding

    _token, plaintext = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    agent, _found = services.token_authenticate(plaintext, "10.0.0.1")
    with django_assert_num_queries(0):
        assert agent.organization is None


def test_last_use_is_written_at_most_once_per_minute(desk, django_assert_num_queries):
    _token, plaintext = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    with django_assert_num_queries(2):  # read + the one conditional UPDATE
        services.token_authenticate(plaintext, "10.0.0.1")
    with django_assert_num_queries(1):  # read only: used less than a minute ago
        services.token_authenticate(plaintext, "10.0.0.2")
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(2):
        services.token_authenticate(plaintext, "10.0.0.3")
    assert ApiToken.objects.get().last_used_ip == "10.0.0.3"


@pytest.mark.parametrize(
    "raw",
    ["", "nonsense", "hl_abc", "hl__secret", "xx_abc_secret", "hl_000000000000_secret"],
)
def test_malformed_or_unknown_tokens_are_invalid(desk, raw):
    with pytest.raises(AuthenticationFailed, match=r"Invalid token\."):
        services.token_authenticate(raw, None)


def test_wrong_secret_is_invalid(desk):
    token, plaintext = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    with pytest.raises(AuthenticationFailed, match=r"Invalid token\."):
        services.token_authenticate(f"hl_{token.prefix}_wrong", None)
    with pytest.raises(AuthenticationFailed, match=r"Invalid token\."):
        services.token_authenticate(plaintext + "x", None)


def test_revoked_and_expired_tokens_fail_with_distinct_messages(desk, capture_events):
    revoked, revoked_plain = services.token_create(
        actor=None, user=desk.agent1, name="old", scopes=["tickets:read"]
    )
    services.token_revoke(actor=desk.agent1, token=revoked)
    services.token_revoke(actor=desk.agent1, token=revoked)  # twice: no second event
    assert len(capture_events.of(TokenRevoked)) == 1
    with pytest.raises(AuthenticationFailed, match=r"Token revoked\."):
        services.token_authenticate(revoked_plain, None)

    expiring, expiring_plain = services.token_create(
        actor=None,
        user=desk.agent1,
        name="short",
        scopes=["tickets:read"],
        expires_at=timezone.now() + timedelta(days=1),
    )
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now())
    with pytest.raises(AuthenticationFailed, match=r"Token expired\."):
        services.token_authenticate(expiring_plain, None)


def test_token_of_inactive_user_is_invalid(desk):
    _token, plaintext = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    from helpline.accounts.services import user_update

    user_update(actor=desk.admin, user=desk.agent1, is_active=False)
    with pytest.raises(AuthenticationFailed, match=r"Invalid token\."):
        services.token_authenticate(plaintext, None)


def test_who_may_create_tokens_for_whom(desk):
    # Agents for themselves only; admins for anyone
    with pytest.raises(PermissionDenied):
        services.token_create(
            actor=desk.agent1, user=desk.agent2, name="x", scopes=["tickets:read"]
        )
    token, _ = services.token_create(
        actor=desk.admin, user=desk.agent2, name="x", scopes=["users:write"]
    )
    assert token.user == desk.agent2
    # Customers for themselves, with ticket scopes only
    services.token_create(actor=desk.alice, user=desk.alice, name="x", scopes=["tickets:write"])
    with pytest.raises(ValidationError) as excinfo:
        services.token_create(actor=desk.alice, user=desk.alice, name="x", scopes=["users:read"])
    assert excinfo.value.fields == {"scopes": "not_allowed"}
    with pytest.raises(PermissionDenied):
        services.token_create(actor=desk.alice, user=desk.bob, name="x", scopes=["tickets:read"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " ", "scopes": ["tickets:read"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["tickets:delete"]}, "scopes"),
        ({"name": "x", "scopes": ["tickets:read"], "expires_at": "past"}, "expires_at"),
    ],
)
def test_invalid_token_input(desk, kwargs, field):
    if kwargs.get("expires_at") == "past":
        kwargs["expires_at"] = timezone.now() - timedelta(seconds=1)
    with pytest.raises(ValidationError) as excinfo:
        services.token_create(actor=desk.agent1, user=desk.agent1, **kwargs)
    assert field in excinfo.value.fields


def test_only_owner_or_admin_revokes(desk):
    token, _ = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=desk.agent2, token=token)
    assert services.token_revoke(actor=desk.admin, token=token).revoked_at is not None


def test_effective_scopes_follow_the_users_current_role(desk):
    token, _ = services.token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read", "teams:read"]
    )
    assert services.effective_scopes(token, desk.agent1) == {"tickets:read", "teams:read"}
    from helpline.accounts.services import user_update

    # When the agent becomes a customer, the token loses what customers may not do
    user_update(actor=desk.admin, user=desk.agent1, role="customer")
    assert services.effective_scopes(token, desk.agent1) == {"tickets:read"}
