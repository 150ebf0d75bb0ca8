"""The routing API: strategies, rules, skills, agents, and an agent's own availability."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.core.api_testing import api_call
from helpline.integrations import services as tokens
from helpline.routing import config, services
from helpline.routing.models import AgentSkill, AgentStatus, RoutingRule, Skill, TeamRouting
from helpline.tickets import catalog
from helpline.tickets import services as tickets


def test_admin_sets_a_team_strategy(client, desk):
    rows = api_call(client, "get", "/routing/teams", user=desk.agent1, expect=200).json()
    assert {row["team"]: row["strategy"] for row in rows} == {
        "L1": "manual",
        "L2": "manual",
        "Finance": "manual",
    }
    body = api_call(
        client,
        "put",
        f"/routing/teams/{desk.l1.pk}",
        user=desk.admin,
        json={"strategy": "skills"},
        expect=200,
    ).json()
    assert body == {
        "team_id": desk.l1.pk,
        "team": "L1",
        "strategy": "skills",
        "label": "Skills, then least loaded",
    }
    assert TeamRouting.objects.get(team=desk.l1).strategy == "skills"
    api_call(
        client,
        "put",
        f"/routing/teams/{desk.l1.pk}",
        user=desk.supervisor,
        json={"strategy": "manual"},
        expect=403,
    )
    api_call(
        client,
        "put",
        f"/routing/teams/{desk.l1.pk}",
        user=desk.admin,
        json={"strategy": "random"},
        expect=422,
    )
    api_call(
        client,
        "put",
        "/routing/teams/99999",
        user=desk.admin,
        json={"strategy": "manual"},
        expect=404,
    )


def test_admin_manages_rules_and_they_route_tickets(client, desk):
    created = api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=201,
        json={
            "name": "VPN",
            "keywords": ["vpn"],
            "team_id": desk.l2.pk,
            "set_priority": "high",
        },
    ).json()
    assert created["team"] == {"id": desk.l2.pk, "name": "L2"}
    assert created["set_priority"] == "high" and created["position"] == 0
    second = api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=201,
        json={"name": "Rest", "team_id": desk.finance_team.pk},
    ).json()
    assert second["position"] == 10
    ticket = tickets.ticket_create(actor=desk.alice, subject="VPN down", body="help")
    assert ticket.team_id == desk.l2.pk and ticket.priority == 2
    api_call(
        client,
        "patch",
        f"/routing/rules/{created['id']}",
        user=desk.admin,
        expect=200,
        json={"is_active": False, "set_priority": None},
    )
    assert tickets.ticket_create(actor=desk.alice, subject="VPN", body="x").team_id == (
        desk.finance_team.pk
    )
    order = api_call(
        client,
        "post",
        "/routing/rules/reorder",
        user=desk.admin,
        expect=200,
        json={"rule_ids": [second["id"], created["id"]]},
    ).json()
    assert [row["name"] for row in order] == ["Rest", "VPN"]
    listed = api_call(client, "get", "/routing/rules", user=desk.agent1, expect=200).json()
    assert [row["id"] for row in listed] == [second["id"], created["id"]]
    api_call(client, "delete", f"/routing/rules/{created['id']}", user=desk.admin, expect=204)
    api_call(client, "get", f"/routing/rules/{created['id']}", user=desk.admin, expect=404)
    assert RoutingRule.objects.count() == 1


def test_invalid_rules_get_the_error_shape(client, desk):
    body = api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=422,
        json={
            "name": "Bad",
            "category_ids": [424242],
            "team_id": desk.l2.pk,
        },
    ).json()
    assert body["error"]["fields"] == {"category_ids": "a list of existing ids"}
    body = api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=422,
        json={"name": "x", "team_id": 424242},
    ).json()
    assert body["error"]["fields"] == {"team_id": "not_found"}
    api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=422,
        json={"name": "x", "channels": ["fax"], "team_id": desk.l2.pk},
    )
    api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=422,
        json={"name": "x", "team_id": desk.l2.pk, "surprise": True},
    )
    rule = api_call(
        client,
        "post",
        "/routing/rules",
        user=desk.admin,
        expect=201,
        json={"name": "ok", "team_id": desk.l2.pk},
    ).json()
    api_call(
        client,
        "patch",
        f"/routing/rules/{rule['id']}",
        user=desk.admin,
        expect=422,
        json={"name": None},
    )
    api_call(
        client, "post", "/routing/rules/reorder", user=desk.admin, expect=422, json={"rule_ids": []}
    )


def test_skills_and_agents(client, desk):
    vpn = catalog.category_create(actor=desk.admin, name="VPN")
    skill = api_call(
        client,
        "post",
        "/routing/skills",
        user=desk.admin,
        expect=201,
        json={
            "name": "VPN",
            "kind": "category",
            "category_id": vpn.pk,
        },
    ).json()
    chinese = api_call(
        client,
        "post",
        "/routing/skills",
        user=desk.admin,
        expect=201,
        json={"name": "Chinese", "kind": "language", "value": "zh"},
    ).json()
    api_call(
        client,
        "post",
        "/routing/skills",
        user=desk.admin,
        expect=409,
        json={"name": "VPN", "kind": "language", "value": "en"},
    )
    api_call(
        client,
        "post",
        "/routing/skills",
        user=desk.admin,
        expect=422,
        json={"name": "X", "kind": "category", "category_id": 424242},
    )
    api_call(
        client,
        "post",
        "/routing/skills",
        user=desk.supervisor,
        expect=403,
        json={"name": "Y", "kind": "language", "value": "ru"},
    )
    agent = api_call(
        client,
        "patch",
        f"/routing/agents/{desk.agent1.pk}",
        user=desk.supervisor,
        expect=200,
        json={"skill_ids": [skill["id"], chinese["id"]], "max_open": 3, "available": False},
    ).json()
    assert set(agent["skill_ids"]) == {skill["id"], chinese["id"]}
    assert agent["max_open"] == 3 and agent["available"] is False and agent["teams"] == ["L1"]
    assert AgentSkill.objects.filter(user=desk.agent1).count() == 2
    api_call(
        client,
        "patch",
        f"/routing/agents/{desk.agent1.pk}",
        user=desk.supervisor,
        expect=200,
        json={"max_open": None},
    )
    assert AgentStatus.objects.get(user=desk.agent1).max_open is None
    api_call(
        client,
        "patch",
        f"/routing/agents/{desk.agent1.pk}",
        user=desk.agent2,
        expect=403,
        json={"max_open": 5},
    )
    api_call(
        client,
        "patch",
        f"/routing/agents/{desk.alice.pk}",
        user=desk.admin,
        expect=404,
        json={"max_open": 5},
    )
    api_call(
        client,
        "patch",
        f"/routing/agents/{desk.admin.pk}",
        user=desk.admin,
        expect=404,
        json={"max_open": 5},
    )
    assert not AgentStatus.objects.filter(user=desk.admin).exists()
    api_call(
        client,
        "patch",
        f"/routing/agents/{desk.agent1.pk}",
        user=desk.admin,
        expect=422,
        json={"skill_ids": [424242]},
    )
    rows = api_call(client, "get", "/routing/agents", user=desk.agent2, expect=200).json()
    assert {row["email"] for row in rows} >= {"agent1@helpline.test", "agent2@helpline.test"}
    assert all(row["email"] != "alice@acme.test" for row in rows)
    api_call(client, "delete", f"/routing/skills/{skill['id']}", user=desk.admin, expect=204)
    assert AgentSkill.objects.filter(user=desk.agent1).count() == 1


def test_an_agent_sets_their_own_availability(client, desk):
    assert api_call(client, "get", "/me/availability", user=desk.agent1).json() == {
        "available": True
    }
    body = api_call(
        client, "post", "/me/availability", user=desk.agent1, expect=200, json={"available": False}
    ).json()
    assert body == {"available": False}
    assert AgentStatus.objects.get(user=desk.agent1).available is False
    assert api_call(client, "get", "/me/availability", user=desk.agent1).json() == {
        "available": False
    }
    api_call(
        client,
        "post",
        "/me/availability",
        user=desk.agent1,
        expect=422,
        json={"available": "maybe"},
    )


@pytest.mark.parametrize(
    "path",
    ["/routing/teams", "/routing/rules", "/routing/skills", "/routing/agents", "/me/availability"],
)
def test_customers_and_tokens_without_the_scope_are_refused(client, desk, path):
    api_call(client, "get", path, user=desk.alice, expect=403)
    _token, plaintext = tokens.token_create(
        actor=None, user=desk.admin, name="t", scopes=["tickets:read"]
    )
    client.logout()
    api_call(client, "get", path, token=plaintext, expect=403)
    _token, reader = tokens.token_create(
        actor=None, user=desk.agent1, name="r", scopes=["routing:read"]
    )
    api_call(client, "get", path, token=reader, expect=200)
    api_call(client, "get", path, expect=401)


MISSING = 424242


def test_a_team_in_the_path_is_looked_up_as_the_teams_api_does(client, desk):
    # Given the 404 the teams API gives for a team nobody sees
    expected = api_call(client, "get", f"/teams/{MISSING}", user=desk.admin, expect=404).json()
    # When an agent, a supervisor or an admin sets that team's strategy
    for user in (desk.agent1, desk.supervisor, desk.admin):
        body = api_call(
            client,
            "put",
            f"/routing/teams/{MISSING}",
            user=user,
            json={"strategy": "manual"},
            expect=404,
        ).json()
        # Then each gets the same 404 (not the 403 of the role check), and nothing is stored
        assert body == expected
    assert not TeamRouting.objects.exists()


def test_teams_and_categories_in_the_body_are_refused_as_the_tickets_api_does(client, desk):
    # Given the 422 the tickets API gives for a team and a category nobody sees
    refused = api_call(
        client,
        "post",
        "/tickets",
        user=desk.agent1,
        json={"subject": "x", "body": "y", "requester_id": desk.alice.pk, "team_id": MISSING},
        expect=422,
    ).json()
    assert refused["error"]["fields"] == {"team_id": "not_found"}
    unknown_team = refused["error"]["message"]
    refused = api_call(
        client,
        "post",
        "/tickets",
        user=desk.agent1,
        json={"subject": "x", "body": "y", "requester_id": desk.alice.pk, "category_id": MISSING},
        expect=422,
    ).json()
    assert refused["error"]["fields"] == {"category_id": "not_found"}
    unknown_category = refused["error"]["message"]
    rule = config.rule_create(actor=desk.admin, name="L2", team=desk.l2)
    # When the routing endpoints that take a team or a category are given them
    calls = [
        ("post", "/routing/rules", {"name": "x", "team_id": MISSING}, "team_id", unknown_team),
        ("patch", f"/routing/rules/{rule.pk}", {"team_id": MISSING}, "team_id", unknown_team),
        (
            "post",
            "/routing/skills",
            {"name": "X", "kind": "category", "category_id": MISSING},
            "category_id",
            unknown_category,
        ),
    ]
    for method, path, payload, field, message in calls:
        body = api_call(client, method, path, user=desk.admin, json=payload, expect=422).json()
        # Then they answer as the tickets API does, and nothing changes
        assert body["error"] == {
            "code": "validation_error",
            "message": message,
            "fields": {field: "not_found"},
        }
    assert list(RoutingRule.objects.values_list("name", "team_id")) == [("L2", desk.l2.pk)]
    assert not Skill.objects.exists()


def test_an_agent_update_is_applied_whole_or_not_at_all(client, desk):
    # Given agent1 away, at most 2 open tickets, with the VPN skill
    vpn = config.skill_create(actor=desk.admin, name="VPN", kind="product", value="vpn")
    chinese = config.skill_create(actor=desk.admin, name="Chinese", kind="language", value="zh")
    services.agent_update(
        actor=desk.admin, user=desk.agent1, available=False, max_open=2, skill_ids=[vpn.pk]
    )

    def state():
        rows = api_call(client, "get", "/routing/agents", user=desk.admin, expect=200).json()
        row = next(row for row in rows if row["id"] == desk.agent1.pk)
        return row["available"], row["max_open"], row["skill_ids"]

    before = state()
    assert before == (False, 2, [vpn.pk])
    # When an update of all three has one refused part
    refusals: list[tuple[Any, dict[str, Any], int, dict[str, str] | None]] = [
        (desk.supervisor, {"skill_ids": [chinese.pk, MISSING]}, 422, {"skill_ids": "not_found"}),
        (desk.supervisor, {"max_open": 0}, 422, None),
        (desk.supervisor, {"surprise": True}, 422, None),
        (desk.agent1, {}, 403, None),  # agent1 may set their own availability, not the rest
    ]
    full = {"available": True, "max_open": 5, "skill_ids": [chinese.pk]}
    for user, bad, status, fields in refusals:
        body = api_call(
            client,
            "patch",
            f"/routing/agents/{desk.agent1.pk}",
            user=user,
            json={**full, **bad},
            expect=status,
        ).json()
        if fields is not None:
            assert body["error"]["fields"] == fields
        # Then nothing of it is stored
        assert state() == before
    # When the whole update is valid, all three are stored
    body = api_call(
        client,
        "patch",
        f"/routing/agents/{desk.agent1.pk}",
        user=desk.supervisor,
        json=full,
        expect=200,
    ).json()
    assert (body["available"], body["max_open"], body["skill_ids"]) == (True, 5, [chinese.pk])
    assert state() == (True, 5, [chinese.pk])
