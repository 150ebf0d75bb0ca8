"""/api/v1/users: who may list, read, create and change users."""

from __future__ import annotations

import pytest
from django.test import Client

from helpline.accounts.events import UserCreated, UserUpdated
from helpline.accounts.models import User
from helpline.core.api_testing import api_call
from helpline.integrations import services as tokens

USERS = "/api/v1/users"


def _ids(response):
    return {item["id"] for item in response.json()["items"]}


def test_anonymous_is_401(client, desk):
    for path in (USERS, f"{USERS}/me", f"{USERS}/{desk.alice.pk}"):
        api_call(client, "get", path, expect=401)


def test_me_for_every_role(client, desk):
    for user in (desk.admin, desk.agent1, desk.alice):
        response = api_call(Client(), "get", f"{USERS}/me", user=user, expect=200)
        assert response.json()["email"] == user.email
        assert response.json()["role"] == user.role


def test_agents_list_and_search_users(client, desk):
    everyone = api_call(client, "get", USERS, user=desk.agent1, query={"limit": 200}, expect=200)
    assert _ids(everyone) == set(User.objects.values_list("pk", flat=True))
    found = api_call(client, "get", USERS, query={"q": "acme"}, expect=200)
    assert _ids(found) == {desk.alice.pk, desk.bob.pk}
    customers = api_call(
        client, "get", USERS, query={"role": "customer", "organization_id": desk.globex.pk}
    )
    assert _ids(customers) == {desk.carol.pk}


def test_user_list_pages(client, desk):
    first = api_call(client, "get", USERS, user=desk.agent1, query={"limit": 5}, expect=200)
    second = api_call(
        client, "get", USERS, query={"limit": 5, "cursor": first.json()["next_cursor"]}
    )
    assert len(_ids(first)) == 5
    assert _ids(first).isdisjoint(_ids(second))
    assert len(_ids(first) | _ids(second)) == User.objects.count()


def test_customers_cannot_list_users(client, desk):
    response = api_call(client, "get", USERS, user=desk.alice, expect=403)
    assert response.json()["error"]["code"] == "permission_denied"


def test_customers_see_themselves_and_their_colleagues_only(client, desk):
    client.force_login(desk.alice)
    api_call(client, "get", f"{USERS}/{desk.alice.pk}", expect=200)
    api_call(client, "get", f"{USERS}/{desk.bob.pk}", expect=200)
    # Another organization's customer and a customer without one are "not found"
    api_call(client, "get", f"{USERS}/{desk.carol.pk}", expect=404)
    api_call(client, "get", f"{USERS}/{desk.dave.pk}", expect=404)
    api_call(client, "get", f"{USERS}/999999", expect=404)
    # dave (no organization) sees only himself
    api_call(Client(), "get", f"{USERS}/{desk.alice.pk}", user=desk.dave, expect=404)


def test_admin_creates_an_agent(client, desk, capture_events):
    response = api_call(
        client,
        "post",
        USERS,
        user=desk.admin,
        json={"email": "New@Helpline.test", "role": "agent", "display_name": "Nia New"},
        expect=201,
    )
    body = response.json()
    assert (body["email"], body["role"]) == ("new@helpline.test", "agent")
    assert capture_events.of(UserCreated)[0]["user_id"] == body["id"]


def test_agent_creates_customers_but_not_agents(client, desk):
    client.force_login(desk.agent1)
    response = api_call(
        client,
        "post",
        USERS,
        json={"email": "erin@globex.test", "organization_id": desk.globex.pk},
        expect=201,
    )
    assert response.json()["organization_id"] == desk.globex.pk
    api_call(client, "post", USERS, json={"email": "x@helpline.test", "role": "agent"}, expect=403)


def test_create_user_errors(client, desk):
    client.force_login(desk.admin)
    taken = api_call(client, "post", USERS, json={"email": "alice@acme.test"}, expect=409)
    assert taken.json()["error"]["fields"] == {"email": "taken"}
    bad = api_call(client, "post", USERS, json={"email": "nope"}, expect=422)
    assert bad.json()["error"]["fields"] == {"email": "invalid"}
    role = api_call(client, "post", USERS, json={"email": "a@b.test", "role": "god"}, expect=422)
    assert "role" in role.json()["error"]["fields"]
    org = api_call(
        client, "post", USERS, json={"email": "a@b.test", "organization_id": 99999}, expect=422
    )
    assert org.json()["error"]["fields"] == {"organization_id": "not_found"}


def test_customer_cannot_create_users(client, desk):
    api_call(client, "post", USERS, user=desk.alice, json={"email": "z@acme.test"}, expect=403)


def test_users_update_their_own_profile_only(client, desk, capture_events):
    client.force_login(desk.alice)
    response = api_call(
        client,
        "patch",
        f"{USERS}/{desk.alice.pk}",
        json={"display_name": "Alice A.", "language": "ru"},
        expect=200,
    )
    assert response.json()["display_name"] == "Alice A."
    assert capture_events.of(UserUpdated)[-1]["changes"]["language"] == ["", "ru"]
    # Not their role, not a colleague, not someone invisible
    api_call(client, "patch", f"{USERS}/{desk.alice.pk}", json={"role": "admin"}, expect=403)
    api_call(client, "patch", f"{USERS}/{desk.bob.pk}", json={"phone": "1"}, expect=403)
    api_call(client, "patch", f"{USERS}/{desk.carol.pk}", json={"phone": "1"}, expect=404)


def test_admin_changes_role_organization_and_deactivates(client, desk):
    client.force_login(desk.admin)
    response = api_call(
        client,
        "patch",
        f"{USERS}/{desk.dave.pk}",
        json={"organization_id": desk.acme.pk, "is_active": False},
        expect=200,
    )
    assert response.json()["organization_id"] == desk.acme.pk
    assert response.json()["is_active"] is False
    cleared = api_call(
        client, "patch", f"{USERS}/{desk.dave.pk}", json={"organization_id": None}, expect=200
    )
    assert cleared.json()["organization_id"] is None


def test_explicit_null_on_a_required_field_is_422(client, desk):
    response = api_call(
        client,
        "patch",
        f"{USERS}/{desk.alice.pk}",
        user=desk.alice,
        json={"display_name": None},
        expect=422,
    )
    assert response.json()["error"]["fields"] == {"display_name": "null"}


@pytest.mark.parametrize(("scopes", "status"), [(["users:read"], 200), (["tickets:read"], 403)])
def test_token_scopes_gate_the_users_area(client, desk, scopes, status):
    _token, plaintext = tokens.token_create(actor=None, user=desk.agent1, name="t", scopes=scopes)
    response = api_call(client, "get", USERS, token=plaintext, expect=status)
    if status == 403:
        assert response.json()["error"]["code"] == "insufficient_scope"
    # /me needs no scope
    api_call(client, "get", f"{USERS}/me", token=plaintext, expect=200)


def test_read_only_token_cannot_write(client, desk):
    _token, plaintext = tokens.token_create(
        actor=None, user=desk.admin, name="t", scopes=["users:read"]
    )
    api_call(client, "post", USERS, token=plaintext, json={"email": "q@helpline.test"}, expect=403)
