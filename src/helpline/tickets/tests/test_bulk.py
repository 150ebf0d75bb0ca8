"""tickets.bulk.ticket_create_many: N tickets in one go, each as `ticket_create` makes one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.accounts.models import User
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.core.models import OutboxEvent
from helpline.routing import config as routing_config
from helpline.tickets import catalog, events, services
from helpline.tickets.bulk import (
    MAX_BULK,
    NewTicket,
    ticket_create_many,
    ticket_create_planned,
    ticket_plan,
)
from helpline.tickets.models import AuditEntry, Message, Ticket


@pytest.fixture
def routed_desk(desk):
    """A VPN rule (to L2, urgent, tagged), a category and an agent-only custom field."""
    routing_config.rule_create(
        actor=desk.admin,
        name="VPN",
        keywords=["vpn"],
        team=desk.l2,
        set_priority="urgent",
        add_tags=["network"],
    )
    catalog.custom_field_create(actor=desk.admin, key="order", label="Order", type="text")
    return desk


def drafts(desk, hardware):
    """Mixed requests: routed and not, with and without tags, fields, category, assignee."""
    return [
        dict(subject="VPN down", body="The VPN-client hangs", requester=desk.alice),
        dict(
            subject="Printer",
            body="Paper jam",
            requester=desk.carol,
            priority="high",
            tags=["printer", "Paper Jam"],
            custom_fields={"order": "A-17"},
            category=hardware,
        ),
        dict(
            subject="VPN again",
            body="<p>vpn</p>",
            requester=desk.dave,
            team=desk.finance_team,
            assignee=desk.finance,
            tags=["network", "billing"],
        ),
        dict(subject="Invoice", body="Where is it?", requester=desk.bob, channel="email"),
    ]


def snapshot(ticket):
    """What a created ticket is, without its number and times."""
    ticket = Ticket.objects.get(pk=ticket.pk)
    [message] = Message.objects.filter(ticket=ticket)
    [record] = OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk))
    payload = dict(record.payload)
    assert (payload.pop("ticket_id"), payload.pop("message_id")) == (ticket.pk, message.pk)
    audit = [
        (entry.action, entry.actor_id, entry.after, entry.note, entry.event_id == record.uuid)
        for entry in AuditEntry.objects.filter(ticket=ticket).order_by("pk")
    ]
    return {
        "row": (
            ticket.subject,
            ticket.requester_id,
            ticket.organization_id,
            ticket.channel,
            ticket.status,
            ticket.priority,
            ticket.category_id,
            ticket.team_id,
            ticket.assignee_id,
            ticket.custom_fields,
            ticket.message_count,
            ticket.last_customer_message_at is not None,
            (ticket.queue_at - ticket.created_at).total_seconds() // 60,
        ),
        "tags": sorted(ticket.tags.values_list("name", flat=True)),
        "message": (message.author_id, message.kind, message.body_text, message.body_html),
        "event": (record.type, record.actor_id, payload),
        "audit": audit,
    }


def test_bulk_tickets_are_what_single_creates_make(routed_desk, capture_events):
    # given a desk with a routing rule, a category and a custom field
    desk = routed_desk
    hardware = catalog.category_create(actor=desk.admin, name="Hardware")
    # when the same requests are made one by one and in one batch
    singles = [
        services.ticket_create(actor=desk.agent1, **draft) for draft in drafts(desk, hardware)
    ]
    batch = ticket_create_many(
        actor=desk.agent1, items=[NewTicket(**draft) for draft in drafts(desk, hardware)]
    )
    # then every ticket of the batch equals its single twin (routing, audit, event included)
    assert [t.pk for t in batch] == sorted(t.pk for t in batch)
    for single, bulk in zip(singles, batch, strict=True):
        assert snapshot(bulk) == snapshot(single)
    routed = snapshot(batch[0])
    assert routed["row"][5:8] == (3, None, desk.l2.pk) and routed["tags"] == ["network"]
    assert [a[0] for a in routed["audit"]] == ["created", "routed"]
    assert "by rule 'VPN'" in routed["audit"][1][3]
    assert snapshot(batch[2])["row"][7:9] == (desk.finance_team.pk, desk.finance.pk)
    assert capture_events.types[1:] == ["ticket.created"] * 8  # after category.created


def test_a_batch_costs_a_constant_number_of_queries(routed_desk):
    desk = routed_desk
    emails = [desk.alice.email, desk.bob.email, desk.carol.email, desk.dave.email]

    def run(count):
        requesters = [User.objects.get(email=email) for email in emails]  # nothing cached
        items = [
            NewTicket(
                subject=f"VPN {i}",
                body="vpn" if i % 2 else "printer",
                requester=requesters[i % 4],
                tags=[f"t{count}-{i}"],
                custom_fields={"order": str(i)},
            )
            for i in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            ticket_create_many(actor=desk.agent1, items=items)
        return len(queries)

    assert run(20) == run(2)


def test_a_customer_opens_several_of_her_own_tickets(desk, capture_events):
    tickets = ticket_create_many(
        actor=desk.alice, items=[NewTicket(subject="A", body="a"), NewTicket(subject="B", body="b")]
    )
    assert {t.requester_id for t in tickets} == {desk.alice.pk}
    assert {t.organization_id for t in tickets} == {desk.acme.pk}
    authors = Message.objects.filter(ticket__in=tickets).values_list("author_id", flat=True)
    assert set(authors) == {desk.alice.pk}
    assert [p["ticket_id"] for p in capture_events.of(events.TicketCreated)] == [
        t.pk for t in tickets
    ]


def test_all_or_nothing_with_every_item_error_indexed(routed_desk, request):
    desk = routed_desk
    catalog.custom_field_create(
        actor=desk.admin, key="asset", label="Asset", type="number", required=True
    )
    capture_events = request.getfixturevalue("capture_events")
    items = [
        NewTicket(subject="fine", body="x", requester=desk.alice, custom_fields={"asset": 1}),
        NewTicket(subject="  ", body="x", requester=desk.alice, custom_fields={"asset": 2}),
        NewTicket(subject="fine", body="x", requester=desk.alice, custom_fields={"asset": 3}),
        NewTicket(subject="no asset", body="", requester=desk.alice),
    ]
    before = Ticket.objects.count()
    with pytest.raises(ValidationError) as caught:
        ticket_create_many(actor=desk.agent1, items=items)
    assert caught.value.fields == {
        "tickets.1.subject": "required",
        "tickets.3.body": "required",
    }
    assert Ticket.objects.count() == before and capture_events.types == []
    items[1] = NewTicket(subject="ok", body="x", requester=desk.alice, custom_fields={"asset": 2})
    items[3] = NewTicket(subject="ok", body="x", requester=desk.alice)
    with pytest.raises(ValidationError) as caught:
        ticket_create_many(actor=desk.agent1, items=items)
    assert caught.value.fields == {"tickets.3.custom_fields.asset": "required"}


def test_refusals_name_the_item_and_create_nothing(desk, capture_events):
    with pytest.raises(PermissionDenied) as caught:
        ticket_create_many(
            actor=desk.alice,
            items=[NewTicket(subject="a", body="a"), NewTicket(subject="b", body="b", tags=["x"])],
        )
    assert caught.value.fields == {"tickets.1": "permission_denied"}
    with pytest.raises(PermissionDenied):
        ticket_create_many(
            actor=desk.alice, items=[NewTicket(subject="a", body="a", requester=desk.bob)]
        )
    assert capture_events.types == []


def test_batch_size_limits(desk):
    with pytest.raises(ValidationError) as caught:
        ticket_create_many(actor=desk.agent1, items=[])
    assert caught.value.fields == {"tickets": "empty"}
    many = [NewTicket(subject="s", body="b", requester=desk.alice)] * (MAX_BULK + 1)
    with pytest.raises(ValidationError) as caught:
        ticket_create_many(actor=desk.agent1, items=many)
    assert caught.value.fields == {"tickets": f"at most {MAX_BULK}"}


def _as_made(ticket):
    """A ticket with its files, watchers, events and audit, without numbers and times."""
    ticket = Ticket.objects.get(pk=ticket.pk)
    [message] = Message.objects.filter(ticket=ticket)
    records = list(
        OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk)).order_by(
            "pk"
        )
    )
    uuids = [record.uuid for record in records]
    events_made = []
    for record in records:
        payload = dict(record.payload)
        assert payload.pop("ticket_id") == ticket.pk
        assert payload.pop("message_id", message.pk) == message.pk
        events_made.append((record.type, record.actor_id, payload))
    audit = [
        (
            entry.action,
            entry.actor_id,
            entry.field,
            entry.after,
            uuids.index(entry.event_id) if entry.event_id else None,
        )
        for entry in AuditEntry.objects.filter(ticket=ticket).order_by("pk")
    ]
    return {
        "row": (ticket.subject, ticket.requester_id, ticket.team_id, ticket.channel),
        "message": (message.author_id, message.body_text, message.body_html),
        "files": [
            (a.filename, a.content_type, a.size, a.sha256, a.file.read())
            for a in message.attachments.order_by("pk")
        ],
        "watchers": sorted(ticket.watchers.values_list("pk", flat=True)),
        "events": events_made,
        "audit": audit,
    }


def test_planned_tickets_of_several_people_are_what_single_calls_make(desk, capture_events):
    # given e-mails from two customers, one with files and people in copy
    files = [
        services.AttachmentIn("../notes.txt", "text/plain", b"hello"),
        services.AttachmentIn("pic.png", "", b"\x89PNG"),
    ]
    requests: list[tuple[User, dict[str, Any], list[User]]] = [
        (desk.alice, dict(subject="One", body="first", attachments=files), [desk.bob, desk.carol]),
        (desk.dave, dict(subject="Two", body="second"), []),
        (desk.bob, dict(subject="Three", body="third"), [desk.alice, desk.alice]),
    ]
    # when they are opened one by one (the watchers watching themselves) and as a batch
    singles = []
    for actor, fields, watchers in requests:
        ticket = services.ticket_create(actor=actor, channel="email", routed_team=desk.l2, **fields)
        for user in watchers:
            services.ticket_watch(actor=user, ticket=ticket, user=user)
        singles.append(ticket)
    plans = [
        ticket_plan(
            actor=actor,
            item=NewTicket(channel="email", routed_team=desk.l2, watchers=watchers, **fields),
        )
        for actor, fields, watchers in requests
    ]
    made = ticket_create_planned(plans)
    # then each planned ticket equals its twin: files, watchers, events and audit, by actor
    assert [message.ticket_id for _ticket, message in made] == [t.pk for t, _m in made]
    for single, (ticket, _message) in zip(singles, made, strict=True):
        assert _as_made(ticket) == _as_made(single)
    first = _as_made(made[0][0])
    assert [(e[0], e[1]) for e in first["events"]] == [
        ("ticket.created", desk.alice.pk),
        ("ticket.watchers_changed", desk.bob.pk),
        ("ticket.watchers_changed", desk.carol.pk),
    ]
    assert first["files"][0][0] == "notes.txt" and first["row"][2] == desk.l2.pk


def test_a_refused_plan_names_no_item(desk):
    with pytest.raises(PermissionDenied):
        ticket_plan(actor=desk.alice, item=NewTicket(subject="a", body="a", tags=["x"]))
    with pytest.raises(ValidationError) as refused:
        ticket_plan(
            actor=desk.alice,
            item=NewTicket(
                subject="a",
                body="a",
                attachments=[services.AttachmentIn("run.exe", "application/x", b"MZ")],
            ),
        )
    assert refused.value.fields == {"attachments.0": "blocked_type"}
    assert ticket_create_planned([]) == []
