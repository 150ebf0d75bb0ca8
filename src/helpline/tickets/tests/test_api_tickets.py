"""/api/v1/tickets: the happy path of every endpoint, checked against the OpenAPI document,
with the events it emits and the audit trail it leaves."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from helpline.accounts.models import User
from helpline.core.api_testing import api_call, find_operation
from helpline.tickets import catalog, events, services
from helpline.tickets.models import AuditEntry, Message, Priority, Status, Ticket

TICKETS = "/api/v1/tickets"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(desk):
    """Alice's ticket, in L1 (the default team)."""
    return services.ticket_create(
        actor=desk.alice, subject="Printer on fire", body="It smokes.", channel="web"
    )


@pytest.fixture
def captured(ticket, request):
    """Events emitted after the `ticket` fixture (capture_events made after it)."""
    return request.getfixturevalue("capture_events")


def audit(ticket, action):
    return list(AuditEntry.objects.filter(ticket_id=ticket.pk, action=action))


# --- create -------------------------------------------------------------------------------


def test_customer_creates_a_ticket_for_themselves(client, desk, capture_events):
    # given a customer of Acme
    # when she opens a ticket through the API
    response = api_call(
        client,
        "post",
        TICKETS,
        user=desk.alice,
        json={"subject": "  VPN   down ", "body": "Since 9:00."},
        expect=201,
    )
    # then it is hers, for her organization, in the default team, via the API channel
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert body["subject"] == "VPN down"
    assert body["requester"] == {"id": desk.alice.pk, "name": "Alice Acme"}
    assert body["organization"] == {"id": desk.acme.pk, "name": "Acme"}
    assert body["team"] == {"id": desk.l1.pk, "name": "L1"}
    assert (body["status"], body["priority"], body["channel"]) == ("new", "normal", "api")
    assert body["assignee"] is None and body["tags"] == [] and body["message_count"] == 1
    assert capture_events.of(events.TicketCreated) == [
        {
            "ticket_id": ticket.pk,
            "requester_id": desk.alice.pk,
            "organization_id": desk.acme.pk,
            "team_id": desk.l1.pk,
            "channel": "api",
            "priority": "normal",
            "status": "new",
            "message_id": ticket.messages.get().pk,
        }
    ]
    [created] = audit(ticket, "created")
    assert created.actor_id == desk.alice.pk


def test_agent_creates_a_ticket_for_a_requester_by_id(client, desk, capture_events):
    hardware = catalog.category_create(actor=desk.admin, name="Hardware")
    response = api_call(
        client,
        "post",
        TICKETS,
        user=desk.agent1,
        json={
            "subject": "Phone call: laptop broken",
            "body": "Called at 10:00.",
            "requester_id": desk.carol.pk,
            "channel": "phone",
            "priority": "high",
            "category_id": hardware.pk,
            "tags": ["Laptop", "vip"],
            "assignee_id": "me",
        },
        expect=201,
    ).json()
    assert response["requester"]["id"] == desk.carol.pk
    assert response["organization"]["id"] == desk.globex.pk
    assert response["assignee"] == {"id": desk.agent1.pk, "name": "Lena First"}
    assert response["status"] == "open"
    assert response["priority"] == "high"
    assert response["category"] == {"id": hardware.pk, "name": "Hardware"}
    assert response["tags"] == ["laptop", "vip"]
    assert [p["ticket_id"] for p in capture_events.of(events.TicketCreated)] == [response["id"]]
    message = Message.objects.get(ticket_id=response["id"])
    assert message.author_id == desk.agent1.pk


def test_agent_creates_a_ticket_for_a_new_customer_by_email(client, desk, capture_events):
    # given an address nobody has
    response = api_call(
        client,
        "post",
        TICKETS,
        user=desk.agent1,
        json={"subject": "Hello", "body": "Mail forwarded", "requester_email": "Neo@Acme.test"},
        expect=201,
    ).json()
    # then the customer is created (and joins Acme by domain) and is the requester
    neo = User.objects.get(email="neo@acme.test")
    assert neo.role == "customer" and neo.organization_id == desk.acme.pk
    assert response["requester"]["id"] == neo.pk
    assert capture_events.types[:2] == ["user.created", "ticket.created"]
    # and a second ticket for the same address reuses the customer
    again = api_call(
        client,
        "post",
        TICKETS,
        json={"subject": "Again", "body": "x", "requester_email": "neo@acme.test"},
        expect=201,
    ).json()
    assert again["requester"]["id"] == neo.pk
    assert User.objects.filter(email="neo@acme.test").count() == 1


def test_refused_ticket_leaves_no_new_customer_behind(client, desk, capture_events):
    response = api_call(
        client,
        "post",
        TICKETS,
        user=desk.agent1,
        json={
            "subject": "x",
            "body": "y",
            "requester_email": "ghost@example.test",
            "custom_fields": {"nope": 1},
        },
        expect=422,
    )
    assert response.json()["error"]["fields"] == {"custom_fields.nope": "unknown field"}
    assert not User.objects.filter(email="ghost@example.test").exists()
    assert capture_events.types == []


def test_agent_must_name_a_requester(client, desk):
    response = api_call(
        client, "post", TICKETS, user=desk.agent1, json={"subject": "x", "body": "y"}, expect=422
    )
    assert response.json()["error"]["fields"] == {"requester": "required"}


def test_customer_cannot_open_for_someone_else(client, desk):
    for extra in ({"requester_id": desk.bob.pk}, {"requester_email": "new@acme.test"}):
        response = api_call(
            client,
            "post",
            TICKETS,
            user=desk.alice,
            json={"subject": "x", "body": "y", **extra},
            expect=403,
        )
        assert response.json()["error"]["code"] == "permission_denied"
    assert not User.objects.filter(email="new@acme.test").exists()
    # naming herself is fine
    api_call(
        client,
        "post",
        TICKETS,
        json={"subject": "x", "body": "y", "requester_email": "ALICE@acme.test"},
        expect=201,
    )


def test_upload_creates_a_ticket_with_attachments(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(desk.alice)
    response = client.post(
        f"{TICKETS}/upload",
        {
            "data": '{"subject": "Screenshot", "body": "See attached."}',
            "files": [
                _upload("screen.png", b"\x89PNG fake", "image/png"),
                _upload("log.txt", b"line 1\n", "text/plain"),
            ],
        },
    )
    assert response.status_code == 201, response.content
    _check_schema("post", f"{TICKETS}/upload", response)
    ticket = Ticket.objects.get(pk=response.json()["id"])
    message = ticket.messages.get()
    stored = sorted((a.filename, a.content_type, a.size) for a in message.attachments.all())
    assert stored == [("log.txt", "text/plain", 7), ("screen.png", "image/png", 9)]
    listed = api_call(client, "get", f"{TICKETS}/{ticket.pk}/messages", expect=200).json()
    names = [a["filename"] for a in listed["items"][0]["attachments"]]
    assert sorted(names) == ["log.txt", "screen.png"]


def test_attachment_download(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = services.ticket_create(
        actor=desk.alice,
        subject="File",
        body="see file",
        attachments=[services.AttachmentIn('re"port\n.pdf', "application/pdf", b"%PDF-1.4")],
    )
    attachment = ticket.messages.get().attachments.get()
    response = Client()
    response.force_login(desk.agent1)
    download = response.get(f"/api/v1/attachments/{attachment.pk}")
    assert download.status_code == 200
    assert download.getvalue() == b"%PDF-1.4"
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    # the control character is gone and the quote cannot end the header value
    assert download["Content-Disposition"] == 'attachment; filename="re\\"port.pdf"'
    operation = find_operation("get", f"/api/v1/attachments/{attachment.pk}")
    assert (
        operation is not None
        and "application/octet-stream" in (operation["responses"]["200"]["content"])
    )


def _upload(name, content, content_type):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def _check_schema(method, path, response):
    from helpline.core.api_testing import assert_matches_schema

    assert_matches_schema(method, path, response)


# --- read ---------------------------------------------------------------------------------


def test_get_ticket_detail(client, desk, ticket):
    services.ticket_watch(actor=desk.agent1, ticket=ticket, user=desk.agent1)
    body = api_call(client, "get", f"{TICKETS}/{ticket.pk}", user=desk.agent1, expect=200).json()
    assert body["id"] == ticket.pk
    assert body["subject"] == "Printer on fire"
    assert body["channel"] == "web"
    assert body["watchers"] == [{"id": desk.agent1.pk, "name": "Lena First"}]


def test_customers_see_only_custom_fields_meant_for_them(client, desk):
    catalog.custom_field_create(
        actor=desk.admin, key="order", label="Order", type="text", visible_to_customers=True
    )
    catalog.custom_field_create(actor=desk.admin, key="risk", label="Risk", type="text")
    ticket = services.ticket_create(
        actor=desk.agent1,
        requester=desk.alice,
        subject="Refund",
        body="x",
        custom_fields={"order": "A-1", "risk": "fraud?"},
    )
    staff = api_call(client, "get", f"{TICKETS}/{ticket.pk}", user=desk.agent1, expect=200)
    assert staff.json()["custom_fields"] == {"order": "A-1", "risk": "fraud?"}
    customer = api_call(Client(), "get", f"{TICKETS}/{ticket.pk}", user=desk.alice, expect=200)
    assert customer.json()["custom_fields"] == {"order": "A-1"}
    listed = api_call(Client(), "get", TICKETS, user=desk.alice, expect=200).json()
    assert listed["items"][0]["custom_fields"] == {"order": "A-1"}


def test_messages_hide_internal_notes_from_customers(client, desk, ticket):
    services.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Customer is VIP")
    services.ticket_reply(actor=desk.agent1, ticket=ticket, body="On our way")
    staff = api_call(
        client, "get", f"{TICKETS}/{ticket.pk}/messages", user=desk.agent1, expect=200
    ).json()
    assert [(m["kind"], m["body_text"]) for m in staff["items"]] == [
        ("public", "It smokes."),
        ("internal", "Customer is VIP"),
        ("public", "On our way"),
    ]
    for customer in (desk.alice, desk.bob):
        seen = api_call(
            Client(), "get", f"{TICKETS}/{ticket.pk}/messages", user=customer, expect=200
        ).json()
        assert [m["body_text"] for m in seen["items"]] == ["It smokes.", "On our way"]


# --- update -------------------------------------------------------------------------------


def test_patch_changes_fields_and_status(client, desk, ticket, captured):
    billing = catalog.category_create(actor=desk.admin, name="Billing")
    body = api_call(
        client,
        "patch",
        f"{TICKETS}/{ticket.pk}",
        user=desk.agent1,
        json={
            "subject": "Printer smoking",
            "priority": "urgent",
            "category_id": billing.pk,
            "tags": ["fire"],
            "status": "on_hold",
        },
        expect=200,
    ).json()
    assert (body["subject"], body["priority"], body["status"]) == (
        "Printer smoking",
        "urgent",
        "on_hold",
    )
    assert body["category"]["id"] == billing.pk and body["tags"] == ["fire"]
    [changed] = captured.of(events.FieldsChanged)
    assert changed["changes"]["priority"] == ["normal", "urgent"]
    assert set(changed["changes"]) == {"subject", "priority", "category", "tags"}
    assert captured.of(events.StatusChanged) == [
        {"ticket_id": ticket.pk, "before": "new", "after": "on_hold", "reason": ""}
    ]
    assert sorted(e.field for e in audit(ticket, "field_changed")) == [
        "category",
        "priority",
        "subject",
        "tags",
    ]
    # null clears the category; null elsewhere is refused
    cleared = api_call(
        client, "patch", f"{TICKETS}/{ticket.pk}", json={"category_id": None}, expect=200
    )
    assert cleared.json()["category"] is None
    refused = api_call(
        client, "patch", f"{TICKETS}/{ticket.pk}", json={"subject": None}, expect=422
    )
    assert refused.json()["error"]["fields"] == {"subject": "null"}


def test_customer_solves_her_ticket_with_patch(client, desk, ticket, captured):
    body = api_call(
        client,
        "patch",
        f"{TICKETS}/{ticket.pk}",
        user=desk.alice,
        json={"status": "solved"},
        expect=200,
    ).json()
    assert body["status"] == "solved" and body["solved_at"] is not None
    assert captured.of(events.StatusChanged)[0]["reason"] == "customer"


# --- messages -----------------------------------------------------------------------------


def test_agent_replies_and_sets_a_status(client, desk, ticket, captured):
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/replies",
        user=desk.agent1,
        json={"body": "Please unplug it.", "status": "pending_customer"},
        expect=201,
    ).json()
    assert body["kind"] == "public" and body["author"]["id"] == desk.agent1.pk
    assert body["ticket_id"] == ticket.pk and body["attachments"] == []
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING_CUSTOMER and ticket.first_response_at is not None
    assert captured.types == ["ticket.message_added", "ticket.status_changed"]
    assert captured.of(events.MessageAdded)[0]["by_customer"] is False
    assert [e.after for e in audit(ticket, "replied")] == [{"message": body["id"]}]


def test_customer_reply_reopens(client, desk, ticket, captured):
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status="pending_customer")
    api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/replies",
        user=desk.alice,
        json={"body": "Unplugged."},
        expect=201,
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert [p["by_customer"] for p in captured.of(events.MessageAdded)] == [True]


def test_agent_adds_an_internal_note(client, desk, ticket, captured):
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/notes",
        user=desk.agent1,
        json={"body_html": "<p>Check <b>fuse</b></p><script>x()</script>"},
        expect=201,
    ).json()
    assert body["kind"] == "internal"
    assert "script" not in body["body_html"] and "Check" in body["body_text"]
    assert captured.of(events.MessageAdded)[0]["kind"] == "internal"
    assert len(audit(ticket, "noted")) == 1


# --- workflow -----------------------------------------------------------------------------


def test_status_change(client, desk, ticket, captured):
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/status",
        user=desk.agent1,
        json={"status": "pending_third_party"},
        expect=200,
    ).json()
    assert body["status"] == "pending_third_party"
    assert captured.of(events.StatusChanged)[0]["after"] == "pending_third_party"
    [entry] = audit(ticket, "status_changed")
    assert (entry.before, entry.after) == ("new", "pending_third_party")


def test_assign_me_then_someone_then_unassign(client, desk, ticket, captured):
    mine = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/assign",
        user=desk.agent1,
        json={"assignee_id": "me"},
        expect=200,
    ).json()
    assert mine["assignee"]["id"] == desk.agent1.pk
    # the supervisor assigns it to someone by id (supervisors need no team membership)
    theirs = api_call(
        Client(),
        "post",
        f"{TICKETS}/{ticket.pk}/assign",
        user=desk.supervisor,
        json={"assignee_id": desk.supervisor.pk},
        expect=200,
    ).json()
    assert theirs["assignee"]["id"] == desk.supervisor.pk
    none = api_call(client, "post", f"{TICKETS}/{ticket.pk}/unassign", expect=200).json()
    assert none["assignee"] is None
    assert [(p["before_id"], p["assignee_id"]) for p in captured.of(events.Assigned)] == [
        (None, desk.agent1.pk),
        (desk.agent1.pk, desk.supervisor.pk),
        (desk.supervisor.pk, None),
    ]
    assert [e.action for e in AuditEntry.objects.filter(ticket=ticket, field="assignee")] == [
        "assigned",
        "assigned",
        "unassigned",
    ]


def test_assign_refuses_an_agent_outside_the_team(client, desk, ticket):
    response = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/assign",
        user=desk.agent1,
        json={"assignee_id": desk.agent2.pk},
        expect=422,
    )
    assert response.json()["error"]["fields"] == {"assignee": "not_in_team"}


def test_transfer(client, desk, ticket, captured):
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/transfer",
        user=desk.agent1,
        json={"team_id": desk.finance_team.pk, "note": "Billing question"},
        expect=200,
    ).json()
    # the answer shows the ticket although agent1 no longer sees it
    assert body["team"] == {"id": desk.finance_team.pk, "name": "Finance"}
    assert captured.of(events.Transferred) == [
        {
            "ticket_id": ticket.pk,
            "before_team_id": desk.l1.pk,
            "team_id": desk.finance_team.pk,
            "note": "Billing question",
        }
    ]
    [entry] = audit(ticket, "transferred")
    assert entry.note == "Billing question"
    api_call(client, "get", f"{TICKETS}/{ticket.pk}", expect=404)


def test_escalate(client, desk, ticket, captured):
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/escalate",
        user=desk.agent1,
        json={"note": "Needs a driver fix"},
        expect=200,
    ).json()
    assert body["team"]["id"] == desk.l2.pk
    assert captured.of(events.Escalated) == [
        {
            "ticket_id": ticket.pk,
            "from_team_id": desk.l1.pk,
            "to_team_id": desk.l2.pk,
            "note": "Needs a driver fix",
        }
    ]
    [entry] = audit(ticket, "escalated")
    assert (entry.before, entry.after) == (desk.l1.pk, desk.l2.pk)


def test_merge(client, desk, ticket, captured):
    other = services.ticket_create(actor=desk.alice, subject="Printer again", body="Still.")
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{other.pk}/merge",
        user=desk.agent1,
        json={"into_id": ticket.pk},
        expect=200,
    ).json()
    assert body["id"] == ticket.pk
    other.refresh_from_db()
    assert other.status == Status.CLOSED and other.merged_into_id == ticket.pk
    [merged] = captured.of(events.Merged)
    assert merged["ticket_id"] == other.pk and merged["into_ticket_id"] == ticket.pk
    assert len(audit(other, "merged")) == 1 and len(audit(ticket, "merged_in")) == 1
    source = api_call(client, "get", f"{TICKETS}/{other.pk}", expect=200).json()
    assert source["merged_into_id"] == ticket.pk


def test_links_add_list_remove(client, desk, ticket, captured):
    child = services.ticket_create(actor=desk.alice, subject="Toner", body="Empty.")
    created = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/links",
        user=desk.agent1,
        json={"other_id": child.pk, "kind": "parent"},
        expect=201,
    ).json()
    assert [(link["kind"], link["ticket"]["id"]) for link in created] == [("child", child.pk)]
    from_child = api_call(client, "get", f"{TICKETS}/{child.pk}/links", expect=200).json()
    assert [(link["kind"], link["ticket"]["id"]) for link in from_child] == [("parent", ticket.pk)]
    assert from_child[0]["ticket"] == {
        "id": ticket.pk,
        "subject": "Printer on fire",
        "status": "new",
    }
    assert [(p["ticket_id"], p["linked"]) for p in captured.of(events.Linked)] == [
        (ticket.pk, True),
        (child.pk, True),
    ]
    response = api_call(
        client,
        "delete",
        f"{TICKETS}/{ticket.pk}/links/{child.pk}",
        query={"kind": "parent"},
        expect=204,
    )
    assert response.content == b""
    assert api_call(client, "get", f"{TICKETS}/{ticket.pk}/links", expect=200).json() == []
    assert len(audit(ticket, "unlinked")) == 1 and len(audit(child, "unlinked")) == 1
    again = api_call(
        client,
        "delete",
        f"{TICKETS}/{ticket.pk}/links/{child.pk}",
        query={"kind": "parent"},
        expect=409,
    )
    assert again.json()["error"]["code"] == "not_linked"


def test_watchers(client, desk, ticket, captured):
    # an agent adds a colleague who can see the ticket, and watches it himself
    api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/watchers",
        user=desk.agent1,
        json={"user_id": desk.supervisor.pk},
        expect=200,
    )
    body = api_call(
        client, "post", f"{TICKETS}/{ticket.pk}/watchers", json={"user_id": "me"}, expect=200
    ).json()
    assert [w["id"] for w in body["watchers"]] == sorted([desk.agent1.pk, desk.supervisor.pk])
    # someone who cannot see the ticket cannot be made to watch it
    blind = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/watchers",
        json={"user_id": desk.carol.pk},
        expect=422,
    )
    assert blind.json()["error"]["fields"] == {"user_id": "cannot_see_ticket"}
    body = api_call(
        client, "delete", f"{TICKETS}/{ticket.pk}/watchers/{desk.supervisor.pk}", expect=200
    ).json()
    assert [w["id"] for w in body["watchers"]] == [desk.agent1.pk]
    assert [(p["user_id"], p["watching"]) for p in captured.of(events.WatchersChanged)] == [
        (desk.supervisor.pk, True),
        (desk.agent1.pk, True),
        (desk.supervisor.pk, False),
    ]
    assert [e.action for e in AuditEntry.objects.filter(ticket=ticket, field="watchers")] == [
        "watcher_added",
        "watcher_added",
        "watcher_removed",
    ]


def test_customer_watches_and_unwatches_herself(client, desk, ticket):
    body = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/watchers",
        user=desk.bob,
        json={"user_id": "me"},
        expect=200,
    ).json()
    assert [w["id"] for w in body["watchers"]] == [desk.bob.pk]
    body = api_call(client, "delete", f"{TICKETS}/{ticket.pk}/watchers/me", expect=200).json()
    assert body["watchers"] == []


def test_audit_trail(client, desk, ticket):
    services.ticket_update(actor=desk.agent1, ticket=ticket, priority="high")
    body = api_call(
        client, "get", f"{TICKETS}/{ticket.pk}/audit", user=desk.agent1, expect=200
    ).json()
    assert [(e["action"], e["field"]) for e in body["items"]] == [
        ("created", ""),
        ("field_changed", "priority"),
    ]
    change = body["items"][1]
    assert (change["before"], change["after"]) == ("normal", "high")
    assert change["actor"] == {"id": desk.agent1.pk, "name": "Lena First"}


# --- list ---------------------------------------------------------------------------------


def test_list_shows_visible_tickets_newest_activity_first(client, desk):
    first = services.ticket_create(actor=desk.alice, subject="one", body="x")
    second = services.ticket_create(actor=desk.carol, subject="two", body="x")
    services.ticket_reply(actor=desk.agent1, ticket=first, body="bump")
    body = api_call(client, "get", TICKETS, user=desk.agent1, expect=200).json()
    assert [t["id"] for t in body["items"]] == [first.pk, second.pk]
    assert body["next_cursor"] is None
    carol = api_call(Client(), "get", TICKETS, user=desk.carol, expect=200).json()
    assert [t["id"] for t in carol["items"]] == [second.pk]


@pytest.fixture
def varied(desk):
    """Tickets that differ in each filterable attribute."""
    hardware = catalog.category_create(actor=desk.admin, name="Hardware")
    a = services.ticket_create(actor=desk.alice, subject="a", body="x", channel="web")
    b = services.ticket_create(
        actor=desk.agent1,
        requester=desk.carol,
        subject="b",
        body="x",
        channel="phone",
        priority="urgent",
        tags=["vip"],
        category=hardware,
        assignee=desk.agent1,
    )
    c = services.ticket_create(
        actor=desk.agent1,
        requester=desk.dave,
        subject="c",
        body="x",
        channel="email",
        priority="low",
        team=desk.l2,
    )
    services.ticket_assign(actor=desk.admin, ticket=c, assignee=desk.agent2)
    services.ticket_change_status(actor=desk.admin, ticket=c, status="solved")
    return {"a": a, "b": b, "c": c, "hardware": hardware}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"a", "b", "c"}),
        ({"status": ["new"]}, {"a"}),
        ({"status": ["new", "open"]}, {"a", "b"}),
        ({"priority": ["urgent", "low"]}, {"b", "c"}),
        ({"priority": ["normal"]}, {"a"}),
        ({"team": "L2"}, {"c"}),
        ({"assignee": "agent2"}, {"c"}),
        ({"assignee": "me"}, set()),
        ({"unassigned": "true"}, {"a"}),
        ({"organization": "globex"}, {"b"}),
        ({"requester": "dave"}, {"c"}),
        ({"category": "hardware"}, {"b"}),
        ({"channel": "email"}, {"c"}),
        ({"tag": "vip"}, {"b"}),
        ({"status": ["open"], "priority": ["urgent"], "tag": "vip"}, {"b"}),
    ],
)
def test_list_filters(client, desk, varied, query, expected):
    refs = {
        "L2": desk.l2.pk,
        "agent2": desk.agent2.pk,
        "globex": desk.globex.pk,
        "dave": desk.dave.pk,
        "hardware": varied["hardware"].pk,
    }
    query = {
        key: refs.get(value, value) if isinstance(value, str) else value
        for key, value in query.items()
    }
    body = api_call(client, "get", TICKETS, user=desk.admin, query=query, expect=200).json()
    ids = {t["id"] for t in body["items"]}
    assert ids == {varied[name].pk for name in expected}


def test_assignee_me_is_the_caller(client, desk, varied):
    body = api_call(
        client, "get", TICKETS, user=desk.agent1, query={"assignee": "me"}, expect=200
    ).json()
    assert [t["id"] for t in body["items"]] == [varied["b"].pk]


def test_list_date_filters(client, desk):
    from datetime import timedelta

    from django.utils import timezone

    old = services.ticket_create(actor=desk.alice, subject="old", body="x")
    Ticket.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10),
        updated_at=timezone.now() - timedelta(days=9),
    )
    new = services.ticket_create(actor=desk.alice, subject="new", body="x")
    cut = (timezone.now() - timedelta(days=5)).isoformat()

    def ids(**query):
        body = api_call(client, "get", TICKETS, user=desk.admin, query=query, expect=200).json()
        return [t["id"] for t in body["items"]]

    assert ids(created_after=cut) == [new.pk]
    assert ids(created_before=cut) == [old.pk]
    assert ids(updated_after=cut) == [new.pk]
    assert ids(updated_before=cut) == [old.pk]


def test_priority_names_in_and_out(client, desk):
    services.ticket_create(
        actor=desk.agent1, requester=desk.alice, subject="x", body="y", priority=Priority.HIGH
    )
    body = api_call(client, "get", TICKETS, user=desk.agent1, expect=200).json()
    assert body["items"][0]["priority"] == "high"
    bad = api_call(client, "get", TICKETS, query={"priority": "critical"}, expect=422)
    # (the infrastructure keys query-schema errors as "<param>.<field>", see the report)
    assert [k for k in bad.json()["error"]["fields"] if k.endswith("priority.0")]


def test_search_requires_q(client, desk):
    response = api_call(client, "get", "/api/v1/search", user=desk.agent1, expect=422)
    assert set(response.json()["error"]["fields"]) == {"q"}
    empty = api_call(client, "get", "/api/v1/search", query={"q": ""}, expect=422)
    assert set(empty.json()["error"]["fields"]) == {"q"}


def test_search_finds_ticket_text(client, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hit = services.ticket_create(actor=desk.alice, subject="Printer jam", body="paper stuck")
        services.ticket_create(actor=desk.alice, subject="VPN", body="no tunnel")
    body = api_call(
        client, "get", "/api/v1/search", user=desk.agent1, query={"q": "paper"}, expect=200
    ).json()
    assert [t["id"] for t in body["items"]] == [hit.pk]


@pytest.mark.parametrize("viewer", ["agent1", "alice"])
def test_list_query_count_does_not_grow_with_the_page(client, desk, viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hardware = catalog.category_create(actor=desk.admin, name="Hardware")

    def make(count):
        for index in range(count):
            services.ticket_create(
                actor=desk.agent1,
                requester=desk.alice,
                subject=f"t{index}",
                body="x",
                tags=["a", "b"],
                category=hardware,
                assignee=desk.agent1,
            )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            api_call(client, "get", TICKETS, expect=200)
        return len(captured)

    client.force_login(getattr(desk, viewer))
    make(3)
    few = queries()
    make(12)
    # session, user, tickets, the names and tags they show (one statement) (+ the customer's
    # organization and custom field keys)
    assert queries() == few <= 6
