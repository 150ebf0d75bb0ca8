"""/api/v1/organizations and /api/v1/teams."""

from __future__ import annotations

from django.test import Client

from helpline.accounts.events import TeamCreated, TeamMembershipChanged, TeamUpdated
from helpline.accounts.models import TeamMembership
from helpline.core.api_testing import api_call

ORGS = "/api/v1/organizations"
TEAMS = "/api/v1/teams"


def _names(response):
    return [item["name"] for item in response.json()["items"]]


def test_anonymous_is_401(client, desk):
    api_call(client, "get", ORGS, expect=401)
    api_call(client, "get", TEAMS, expect=401)


def test_staff_see_all_organizations_with_notes(client, desk):
    from helpline.accounts.services import organization_update

    organization_update(actor=desk.admin, organization=desk.acme, notes="Pays late.")
    response = api_call(client, "get", ORGS, user=desk.agent1, expect=200)
    assert _names(response) == ["Acme", "Globex"]
    acme = api_call(client, "get", f"{ORGS}/{desk.acme.pk}", expect=200).json()
    assert acme["notes"] == "Pays late."
    assert acme["plan"] == "premium"
    assert acme["service_manager_id"] == desk.agent2.pk


def test_customers_see_only_their_organization_without_internal_notes(client, desk):
    from helpline.accounts.services import organization_update

    organization_update(actor=desk.admin, organization=desk.acme, notes="Pays late.")
    client.force_login(desk.alice)
    assert _names(api_call(client, "get", ORGS, expect=200)) == ["Acme"]
    own = api_call(client, "get", f"{ORGS}/{desk.acme.pk}", expect=200).json()
    assert own["notes"] == ""
    api_call(client, "get", f"{ORGS}/{desk.globex.pk}", expect=404)
    # A customer without an organization sees none
    assert _names(api_call(Client(), "get", ORGS, user=desk.dave, expect=200)) == []


def test_admin_creates_and_updates_organizations(client, desk):
    client.force_login(desk.admin)
    created = api_call(
        client,
        "post",
        ORGS,
        json={"name": "Initech", "domains": ["@Initech.test"], "plan": "premium"},
        expect=201,
    ).json()
    assert created["domains"] == ["initech.test"]
    updated = api_call(
        client,
        "patch",
        f"{ORGS}/{created['id']}",
        json={"service_manager_id": desk.agent1.pk, "plan": None},
        expect=200,
    ).json()
    assert (updated["service_manager_id"], updated["plan"]) == (desk.agent1.pk, None)
    api_call(client, "post", ORGS, json={"name": "initech"}, expect=409)
    bad = api_call(
        client, "patch", f"{ORGS}/{created['id']}", json={"service_manager_id": desk.alice.pk}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {"service_manager": "not_agent"}


def test_renaming_an_organization_follows_the_naming_rule_of_creation(client, desk):
    client.force_login(desk.admin)
    url = f"{ORGS}/{desk.acme.pk}"
    taken = api_call(client, "patch", url, json={"name": "GLOBEX"}, expect=409)
    assert taken.json()["error"]["fields"] == {"name": "taken"}
    blank = api_call(client, "patch", url, json={"name": "  "}, expect=422)
    assert blank.json()["error"]["fields"] == {"name": "required"}
    renamed = api_call(client, "patch", url, json={"name": " ACME "}, expect=200).json()
    assert renamed["name"] == "ACME"  # its own name in another case is free
    assert _names(api_call(client, "get", ORGS, expect=200)) == ["ACME", "Globex"]


def test_agents_and_customers_cannot_write_organizations(client, desk):
    api_call(client, "post", ORGS, user=desk.agent1, json={"name": "X"}, expect=403)
    api_call(client, "patch", f"{ORGS}/{desk.acme.pk}", json={"notes": "x"}, expect=403)
    customer = Client()
    for method, path in (("post", ORGS), ("patch", f"{ORGS}/{desk.acme.pk}")):
        response = api_call(customer, method, path, user=desk.alice, json={"name": "X"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_scope"


def test_teams_are_for_staff(client, desk):
    response = api_call(client, "get", TEAMS, user=desk.agent1, expect=200)
    assert _names(response) == ["Finance", "L1", "L2"]
    l1 = api_call(client, "get", f"{TEAMS}/{desk.l1.pk}", expect=200).json()
    assert l1["members"] == [
        {
            "user_id": desk.agent1.pk,
            "email": desk.agent1.email,
            "name": "Lena First",
            "is_lead": True,
        }
    ]
    customer = Client()
    api_call(customer, "get", TEAMS, user=desk.alice, expect=403)
    api_call(customer, "get", f"{TEAMS}/{desk.l1.pk}", expect=403)


def test_admin_creates_and_updates_teams(client, desk, capture_events):
    client.force_login(desk.admin)
    created = api_call(
        client,
        "post",
        TEAMS,
        json={
            "name": "Finance L1",
            "kind": "line",
            "level": 1,
            "department_id": desk.finance_team.pk,
        },
        expect=201,
    ).json()
    assert created["department_id"] == desk.finance_team.pk
    updated = api_call(
        client,
        "patch",
        f"{TEAMS}/{created['id']}",
        json={"name": "Billing L1", "is_default": True},
        expect=200,
    ).json()
    assert (updated["name"], updated["is_default"]) == ("Billing L1", True)
    assert capture_events.of(TeamUpdated)[-1]["changes"]["name"] == ["Finance L1", "Billing L1"]
    # L1 lost its default flag
    assert api_call(client, "get", f"{TEAMS}/{desk.l1.pk}").json()["is_default"] is False
    taken = api_call(client, "patch", f"{TEAMS}/{created['id']}", json={"name": "l2"}, expect=409)
    assert taken.json()["error"]["fields"] == {"name": "taken"}
    level = api_call(client, "patch", f"{TEAMS}/{desk.l2.pk}", json={"level": 1}, expect=409)
    assert level.json()["error"]["fields"] == {"level": "taken"}
    bad = api_call(client, "post", TEAMS, json={"name": "X", "kind": "line"}, expect=422)
    assert bad.json()["error"]["fields"] == {"level": "required"}


def test_a_team_needs_a_name_on_creation_as_on_rename(client, desk, capture_events):
    client.force_login(desk.admin)
    before = api_call(client, "get", TEAMS, expect=200).json()["items"]
    for name in ("", "   "):
        created = api_call(
            client, "post", TEAMS, json={"name": name, "kind": "department"}, expect=422
        )
        assert created.json()["error"] == {
            "code": "validation_error",
            "message": "Name is required.",
            "fields": {"name": "required"},
        }
        renamed = api_call(
            client, "patch", f"{TEAMS}/{desk.l1.pk}", json={"name": name}, expect=422
        )
        assert renamed.json()["error"] == created.json()["error"]
    assert api_call(client, "get", TEAMS, expect=200).json()["items"] == before
    assert capture_events.of(TeamCreated) == [] and capture_events.of(TeamUpdated) == []


def test_admin_adds_and_removes_members(client, desk, capture_events):
    client.force_login(desk.admin)
    response = api_call(
        client,
        "post",
        f"{TEAMS}/{desk.l2.pk}/members",
        json={"user_id": desk.agent1.pk, "is_lead": True},
        expect=200,
    )
    assert {m["user_id"] for m in response.json()["members"]} == {desk.agent1.pk, desk.agent2.pk}
    api_call(client, "delete", f"{TEAMS}/{desk.l2.pk}/members/{desk.agent2.pk}", expect=204)
    assert list(TeamMembership.objects.filter(team=desk.l2).values_list("user", flat=True)) == [
        desk.agent1.pk
    ]
    assert [e["member"] for e in capture_events.of(TeamMembershipChanged)] == [True, False]
    customer = api_call(
        client, "post", f"{TEAMS}/{desk.l2.pk}/members", json={"user_id": desk.alice.pk}
    )
    assert customer.status_code == 422


def test_agents_cannot_change_teams(client, desk):
    client.force_login(desk.agent1)
    api_call(client, "patch", f"{TEAMS}/{desk.l1.pk}", json={"name": "X"}, expect=403)
    api_call(
        client,
        "post",
        f"{TEAMS}/{desk.l1.pk}/members",
        json={"user_id": desk.agent2.pk},
        expect=403,
    )
