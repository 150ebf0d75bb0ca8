"""POST /api/v1/tickets/bulk: many tickets in one request, all or nothing, checked against the
OpenAPI document; the events are dispatched like single creates' (SLA timers, search)."""

from __future__ import annotations

from django.test import Client

from helpline.accounts.models import User
from helpline.core.api_testing import api_call
from helpline.core.models import OutboxEvent
from helpline.integrations import services as tokens
from helpline.routing import config as routing_config
from helpline.sla import config as sla_config
from helpline.tickets import catalog, services
from helpline.tickets.models import AuditEntry, Ticket

BULK = "/api/v1/tickets/bulk"


def item(**values):
    return {"subject": "Printer", "body": "Paper jam", **values}


def test_agent_creates_tickets_like_single_creates(client, desk, capture_events):
    # given a routing rule and a custom field
    routing_config.rule_create(
        actor=desk.admin, name="VPN", keywords=["vpn"], team=desk.l2, add_tags=["network"]
    )
    catalog.custom_field_create(actor=desk.admin, key="order", label="Order", type="text")
    capture_events = type(capture_events)()
    items = [
        item(requester_id=desk.alice.pk, subject="VPN down", body="vpn hangs"),
        item(requester_id=desk.carol.pk, tags=["printer"], custom_fields={"order": "A-1"}),
        item(requester_email="neo@acme.test", priority="high", assignee_id="me"),
    ]
    # when an agent sends them in one request
    body = api_call(
        client, "post", BULK, user=desk.agent1, json={"tickets": items}, expect=201
    ).json()
    # then three tickets exist, in the request's order, as single creates would make them
    created = body["tickets"]
    assert [t["subject"] for t in created] == ["VPN down", "Printer", "Printer"]
    first, second, third = (Ticket.objects.get(pk=t["id"]) for t in created)
    assert (first.team_id, list(first.tags.values_list("name", flat=True))) == (
        desk.l2.pk,
        ["network"],
    )
    assert AuditEntry.objects.get(ticket=first, action="routed").note == (
        "Routed to L2; tagged network by rule 'VPN'"
    )
    assert second.custom_fields == {"order": "A-1"} and second.team_id == desk.l1.pk
    neo = User.objects.get(email="neo@acme.test")
    assert (third.requester_id, third.assignee_id, third.status) == (neo.pk, desk.agent1.pk, "open")
    assert created[2]["priority"] == "high" and created[2]["requester_id"] == neo.pk
    assert capture_events.types == ["user.created"] + ["ticket.created"] * 3
    created_entries = AuditEntry.objects.filter(ticket__in=[first, second, third], action="created")
    assert created_entries.count() == 3


def test_customer_creates_her_own_tickets_with_a_token(client, desk):
    _token, secret = tokens.token_create(
        actor=desk.carol, user=desk.carol, name="cli", scopes=["tickets:write"]
    )
    body = api_call(
        client, "post", BULK, token=secret, json={"tickets": [item(), item()]}, expect=201
    ).json()
    assert {t["requester_id"] for t in body["tickets"]} == {desk.carol.pk}
    assert {t["organization_id"] for t in body["tickets"]} == {desk.globex.pk}


def test_customer_cannot_create_for_others_and_nothing_is_created(client, desk, capture_events):
    before = Ticket.objects.count()
    # like POST /tickets: 403 for another requester
    response = api_call(
        client,
        "post",
        BULK,
        user=desk.alice,
        json={"tickets": [item(), item(requester_id=desk.bob.pk)]},
        expect=403,
    )
    assert response.json()["error"]["fields"] == {"tickets.1": "forbidden"}
    single = api_call(
        client,
        "post",
        "/api/v1/tickets",
        json=item(requester_id=desk.bob.pk),
        expect=403,
    )
    assert single.json()["error"]["code"] == response.json()["error"]["code"]
    # and for fields only agents set
    api_call(client, "post", BULK, json={"tickets": [item(team_id=desk.l2.pk)]}, expect=403)
    api_call(client, "post", BULK, json={"tickets": [item(tags=["x"])]}, expect=403)
    assert Ticket.objects.count() == before and capture_events.types == []


def test_scope_is_tickets_write(client, desk):
    _token, read_only = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="read", scopes=["tickets:read"]
    )
    denied = api_call(
        client,
        "post",
        BULK,
        token=read_only,
        json={"tickets": [item(requester_id=desk.alice.pk)]},
        expect=403,
    )
    assert denied.json()["error"]["fields"] == {"scope": "tickets:write"}


def test_one_invalid_item_fails_the_batch_with_its_index(client, desk, capture_events):
    before = Ticket.objects.count()
    items = [item(requester_id=desk.alice.pk) for _ in range(5)]
    items[3] = item(requester_id=desk.alice.pk, subject="   ")
    response = api_call(
        client, "post", BULK, user=desk.agent1, json={"tickets": items}, expect=422
    ).json()
    assert response["error"]["code"] == "validation_error"
    assert response["error"]["fields"] == {"tickets.3.subject": "required"}
    # schema errors and unknown references are indexed too
    items[3] = {"body": "no subject", "requester_id": desk.alice.pk}
    items[4] = item(requester_id=999_999, category_id=999_999)
    response = api_call(client, "post", BULK, json={"tickets": items}, expect=422).json()
    assert set(response["error"]["fields"]) == {"tickets.3.subject"}
    items[3] = item(requester_id=desk.alice.pk)
    response = api_call(client, "post", BULK, json={"tickets": items}, expect=422).json()
    assert response["error"]["fields"] == {
        "tickets.4.requester_id": "not_found",
        "tickets.4.category_id": "not_found",
    }
    assert Ticket.objects.count() == before and capture_events.types == []


def test_refused_batch_leaves_no_new_customer_behind(client, desk):
    items = [item(requester_email="ghost@example.test"), item(requester_email="x", subject="")]
    api_call(client, "post", BULK, user=desk.agent1, json={"tickets": items}, expect=422)
    assert not User.objects.filter(email="ghost@example.test").exists()


def test_at_most_100_tickets_and_at_least_one(client, desk):
    many = [item(requester_id=desk.alice.pk)] * 101
    response = api_call(
        client, "post", BULK, user=desk.agent1, json={"tickets": many}, expect=422
    ).json()
    assert set(response["error"]["fields"]) == {"tickets"}
    api_call(client, "post", BULK, json={"tickets": []}, expect=422)
    api_call(client, "post", BULK, json={"tickets": many[:100]}, expect=201)
    assert Ticket.objects.count() == 100


def test_attachments_are_refused(client, desk):
    items = [
        item(requester_id=desk.alice.pk),
        item(requester_id=desk.alice.pk, attachments=[{"filename": "a.txt", "data": "aGk="}]),
    ]
    response = api_call(
        client, "post", BULK, user=desk.agent1, json={"tickets": items}, expect=422
    ).json()
    assert response["error"]["fields"] == {"tickets.1.attachments": "not_supported_in_bulk"}
    assert "/tickets/upload" in response["error"]["message"]
    assert not Ticket.objects.exists()


def test_events_are_dispatched_sla_timers_start_and_search_finds_them(
    client, desk, django_capture_on_commit_callbacks
):
    # given an SLA policy for every ticket
    calendar = sla_config.calendar_create(
        actor=desk.admin,
        name="Always",
        tz="UTC",
        hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        is_default=True,
    )
    sla_config.policy_create(
        actor=desk.admin, name="Std", position=1, first_response_minutes=60, calendar=calendar
    )
    # when two tickets are created in one request (the after-commit hooks run)
    with django_capture_on_commit_callbacks(execute=True):
        body = api_call(
            Client(),
            "post",
            BULK,
            user=desk.agent1,
            json={
                "tickets": [
                    item(requester_id=desk.alice.pk, subject="Kerfuffle one"),
                    item(requester_id=desk.bob.pk, subject="Kerfuffle two", body="zanzibar"),
                ]
            },
            expect=201,
        ).json()
    ids = [t["id"] for t in body["tickets"]]
    # then each event is dispatched (once), the SLA clocks run and search finds both
    records = OutboxEvent.objects.filter(type="ticket.created", aggregate_id__in=map(str, ids))
    assert [r.dispatched_at is not None for r in records] == [True, True]
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket.sla_timers.filter(state="running").exists()
        assert ticket.sla_due_at is not None
    found = api_call(
        client, "get", "/api/v1/search", user=desk.agent1, query={"q": "kerfuffle"}, expect=200
    ).json()
    assert sorted(t["id"] for t in found["items"]) == sorted(ids)
    found = api_call(client, "get", "/api/v1/search", query={"q": "zanzibar"}, expect=200).json()
    assert [t["id"] for t in found["items"]] == [ids[1]]


def test_bulk_route_does_not_shadow_ticket_routes(client, desk):
    ticket = services.ticket_create(actor=desk.alice, subject="Mine", body="x")
    api_call(client, "get", f"/api/v1/tickets/{ticket.pk}", user=desk.alice, expect=200)
    api_call(client, "get", BULK, expect=405)
