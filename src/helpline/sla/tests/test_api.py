"""The SLA API: a ticket's SLA state, the breaching-soonest sort, and admin configuration."""

from __future__ import annotations

from helpline.core.api_testing import api_call
from helpline.sla.models import Calendar, SlaPolicy
from helpline.sla.tests.conftest import OFFICE_HOURS
from helpline.tickets import services as tickets


def test_ticket_sla_for_agents_only(client, desk, clock, standard, open_ticket, act):
    ticket = open_ticket()
    clock.set(2026, 3, 9, 9, 50)  # past the 75% warning of the 60-minute first response
    body = api_call(client, "get", f"/tickets/{ticket.pk}/sla", user=desk.agent1, expect=200)
    data = body.json()
    assert data["status"] == "warning" and data["paused"] is False
    first = next(t for t in data["timers"] if t["kind"] == "first_response")
    assert first["elapsed_seconds"] == 50 * 60 and first["remaining_seconds"] == 10 * 60
    assert first["policy"]["name"] == "Standard" and first["business"] is True
    assert data["sla_due_at"].startswith("2026-03-09T09:00:00")  # 10:00 Berlin, in UTC
    # The requester sees the ticket but not its SLA internals; strangers get the same 404.
    api_call(client, "get", f"/tickets/{ticket.pk}/sla", user=desk.alice, expect=404)
    api_call(client, "get", f"/tickets/{ticket.pk}/sla", user=desk.carol, expect=404)
    api_call(client, "get", f"/tickets/{ticket.pk}/sla", user=desk.finance, expect=404)
    clock.set(2026, 3, 9, 10, 1)
    data = api_call(client, "get", f"/tickets/{ticket.pk}/sla", user=desk.admin).json()
    assert data["status"] == "breached"


def test_ticket_list_sorts_breaching_soonest_first(client, desk, clock, standard, open_ticket, act):
    first = open_ticket()
    clock.set(2026, 3, 9, 9, 30)
    second = open_ticket()
    clock.set(2026, 3, 9, 9, 40)
    act(tickets.ticket_update, actor=desk.agent1, ticket=second, priority="high")
    paused = open_ticket()
    act(
        tickets.ticket_reply,
        actor=desk.agent1,
        ticket=paused,
        body="Waiting for you.",
        status="pending_customer",
    )
    rows = api_call(
        client, "get", "/tickets", user=desk.agent1, query={"sort": "sla_due_at", "limit": 1}
    ).json()
    assert [row["id"] for row in rows["items"]] == [first.pk]
    after = api_call(
        client,
        "get",
        "/tickets",
        user=desk.agent1,
        query={"sort": "sla_due_at", "cursor": rows["next_cursor"]},
    ).json()
    # The paused ticket has no running clock, so it is not in this list.
    assert [row["id"] for row in after["items"]] == [second.pk]


def test_admin_manages_calendars_and_policies(client, desk, clock):
    created = api_call(
        client,
        "post",
        "/sla/calendars",
        user=desk.admin,
        json={
            "name": "Shanghai",
            "tz": "Asia/Shanghai",
            "hours": OFFICE_HOURS,
            "holidays": ["2026-10-01..2026-10-07", "01-01"],
            "exceptions": [
                {"start": "2026-10-10T09:00", "end": "2026-10-10T17:00", "working": True}
            ],
            "team_ids": [desk.l2.pk],
            "organization_ids": [desk.globex.pk],
        },
        expect=201,
    ).json()
    assert created["team_ids"] == [desk.l2.pk] and created["organization_ids"] == [desk.globex.pk]
    calendar_id = created["id"]
    bad = api_call(
        client,
        "patch",
        f"/sla/calendars/{calendar_id}",
        user=desk.admin,
        json={"hours": {"mon": [["9am", "17:00"]]}},
        expect=422,
    ).json()
    assert "hours.mon.0" in bad["error"]["fields"]
    api_call(
        client, "patch", f"/sla/calendars/{calendar_id}", user=desk.admin,
        json={"holidays": ["12-25"], "team_ids": []}, expect=200,
    )  # fmt: skip
    assert Calendar.objects.get(pk=calendar_id).holidays == ["12-25"]
    empty = api_call(
        client, "post", "/sla/calendars", user=desk.admin,
        json={"name": "Never", "hours": {}}, expect=422,
    ).json()  # fmt: skip
    assert empty["error"]["fields"] == {"hours": "the calendar has no working hours"}

    policy = api_call(
        client,
        "post",
        "/sla/policies",
        user=desk.admin,
        json={
            "name": "Premium",
            "plan_id": desk.premium.pk,
            "priorities": ["high", "urgent"],
            "first_response_minutes": 300,
            "resolution_minutes": 2400,
            "resolution_business": False,
            "calendar_id": calendar_id,
            "breach_actions": ["notify_service_manager", "escalate"],
        },
        expect=201,
    ).json()
    assert policy["plan_id"] == desk.premium.pk and policy["calendar_id"] == calendar_id
    updated = api_call(
        client, "patch", f"/sla/policies/{policy['id']}", user=desk.admin,
        json={"warning_percent": 80, "calendar_id": None}, expect=200,
    ).json()  # fmt: skip
    assert updated["warning_percent"] == 80 and updated["calendar_id"] is None
    api_call(
        client, "post", "/sla/policies", user=desk.admin,
        json={"name": "Bad", "breach_actions": ["explode"]}, expect=422,
    )  # fmt: skip
    api_call(
        client, "post", "/sla/policies", user=desk.admin,
        json={"name": "No team", "kind": "ola", "team_id": 99999, "first_response_minutes": 5},
        expect=422,
    )  # fmt: skip
    listed = api_call(client, "get", "/sla/policies", user=desk.agent1, expect=200).json()
    assert [p["name"] for p in listed] == ["Premium"]
    # Agents read the configuration but do not change it; customers do not see it at all.
    api_call(client, "delete", f"/sla/policies/{policy['id']}", user=desk.agent1, expect=403)
    api_call(client, "get", "/sla/calendars", user=desk.alice, expect=403)
    api_call(client, "delete", f"/sla/policies/{policy['id']}", user=desk.admin, expect=204)
    api_call(client, "delete", f"/sla/calendars/{calendar_id}", user=desk.admin, expect=204)
    assert not SlaPolicy.objects.exists() and not Calendar.objects.exists()
