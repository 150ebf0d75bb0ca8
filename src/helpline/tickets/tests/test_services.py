"""Ticket services: each operation's effect, its audit entries and the events it emits."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings

from helpline.accounts.models import Role
from helpline.accounts.services import team_create, user_create
from helpline.core.errors import (
    Conflict,
    InvalidTransition,
    PayloadTooLarge,
    PermissionDenied,
    ValidationError,
)
from helpline.core.testing import Desk
from helpline.tickets import events, services
from helpline.tickets.models import (
    AuditEntry,
    CustomField,
    Message,
    Priority,
    Status,
    Ticket,
    TicketLink,
)
from helpline.tickets.selectors import TicketFilters, ticket_links, ticket_list, ticket_messages
from helpline.tickets.services import AttachmentIn


def open_ticket(desk: Desk, **kwargs) -> Ticket:
    defaults = {"actor": desk.alice, "subject": "Printer is broken", "body": "It prints nothing."}
    return services.ticket_create(**{**defaults, **kwargs})


def audit_actions(ticket: Ticket) -> list[str]:
    return list(AuditEntry.objects.filter(ticket=ticket).values_list("action", flat=True))


# --- create ---------------------------------------------------------------------------------


def test_customer_creates_ticket_for_themselves(desk: Desk, capture_events) -> None:
    # when a customer opens a request
    ticket = open_ticket(desk, body_html="<p>It prints <b>nothing</b><script>x()</script></p>")
    # then it is theirs, in their organization, on the default line, new, normal priority
    assert ticket.requester == desk.alice
    assert ticket.organization == desk.acme
    assert ticket.team == desk.l1
    assert ticket.status == Status.NEW
    assert ticket.priority == Priority.NORMAL
    assert ticket.message_count == 1
    assert ticket.last_customer_message_at is not None
    message = ticket.messages.get()
    assert message.author == desk.alice and message.kind == Message.Kind.PUBLIC
    assert "<script>" not in message.body_html and "<b>nothing</b>" in message.body_html
    # and the creation is audited and announced
    assert audit_actions(ticket) == ["created"]
    [payload] = capture_events.of(events.TicketCreated)
    assert payload["ticket_id"] == ticket.pk
    assert payload["requester_id"] == desk.alice.pk
    assert payload["priority"] == "normal"
    assert payload["message_id"] == message.pk
    entry = AuditEntry.objects.get(ticket=ticket)
    assert str(entry.event_id) == str(capture_events.records()[0].uuid)


def test_customer_cannot_set_staff_fields(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        open_ticket(desk, priority="urgent")
    with pytest.raises(PermissionDenied):
        open_ticket(desk, team=desk.l2)
    with pytest.raises(PermissionDenied):
        open_ticket(desk, requester=desk.bob)
    assert Ticket.objects.count() == 0


def test_agent_creates_ticket_on_behalf_of_requester(desk: Desk) -> None:
    ticket = services.ticket_create(
        actor=desk.agent1,
        requester=desk.carol,
        subject="Phone call: invoice question",
        body="Customer called about invoice 42.",
        channel="phone",
        priority="high",
        tags=["Invoice", "invoice", "Billing Issue"],
        team=desk.finance_team,
        assignee=desk.finance,
    )
    assert ticket.organization == desk.globex
    assert ticket.priority == Priority.HIGH
    assert ticket.status == Status.OPEN  # assigned at creation: someone works on it
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing-issue", "invoice"]
    assert ticket.last_customer_message_at is None
    assert ticket.messages.get().author == desk.agent1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 251}, "subject"),
        ({"body": "", "body_html": "<script>only</script>"}, "body"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_create_rejects_bad_input(desk: Desk, kwargs, field) -> None:
    with pytest.raises(ValidationError) as error:
        services.ticket_create(
            **{"actor": desk.agent1, "requester": desk.alice, "subject": "S", "body": "B", **kwargs}
        )
    assert field in error.value.fields
    assert Ticket.objects.count() == 0


def test_agent_needs_requester(desk: Desk) -> None:
    with pytest.raises(ValidationError) as error:
        services.ticket_create(actor=desk.agent1, subject="S", body="B")
    assert error.value.fields == {"requester": "required"}


# --- custom fields --------------------------------------------------------------------------


@pytest.fixture
def fields(desk: Desk) -> None:
    CustomField.objects.create(key="contract", label="Contract", type="text", max_length=10)
    CustomField.objects.create(key="seats", label="Seats", type="number")
    CustomField.objects.create(key="os", label="OS", type="choice", choices=["linux", "windows"])
    CustomField.objects.create(key="since", label="Since", type="date", visible_to_customers=True)


def test_custom_fields_are_typed_and_validated(desk: Desk, fields) -> None:
    ticket = services.ticket_create(
        actor=desk.agent1,
        requester=desk.alice,
        subject="S",
        body="B",
        custom_fields={"contract": "C-1", "seats": "12", "os": "linux", "since": "2026-01-31"},
    )
    assert ticket.custom_fields == {
        "contract": "C-1",
        "seats": 12,
        "os": "linux",
        "since": "2026-01-31",
    }
    with pytest.raises(ValidationError) as error:
        services.ticket_update(
            actor=desk.agent1,
            ticket=ticket,
            custom_fields={"seats": "many", "os": "mac", "since": "31.01.2026", "nope": 1},
        )
    assert set(error.value.fields) == {
        "custom_fields.seats",
        "custom_fields.os",
        "custom_fields.since",
        "custom_fields.nope",
    }
    # a None value removes a field; other values stay
    services.ticket_update(actor=desk.agent1, ticket=ticket, custom_fields={"contract": None})
    ticket.refresh_from_db()
    assert "contract" not in ticket.custom_fields and ticket.custom_fields["seats"] == 12


def test_required_custom_field_and_customer_visibility(desk: Desk, fields) -> None:
    CustomField.objects.filter(key="os").update(required=True)
    with pytest.raises(ValidationError) as error:
        services.ticket_create(actor=desk.agent1, requester=desk.alice, subject="S", body="B")
    assert error.value.fields == {"custom_fields.os": "required"}
    # customers may fill only fields visible to them, and are not blocked by hidden required ones
    ticket = open_ticket(desk, custom_fields={"since": "2025-12-01"})
    assert ticket.custom_fields == {"since": "2025-12-01"}
    with pytest.raises(ValidationError):
        open_ticket(desk, custom_fields={"contract": "X"})


# --- replies, notes, attachments ------------------------------------------------------------


def test_agent_reply_records_first_response_and_opens(desk: Desk, capture_events) -> None:
    ticket = open_ticket(desk)
    message = services.ticket_reply(actor=desk.agent1, ticket=ticket, body="Have you tried paper?")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_at is not None
    assert ticket.message_count == 2
    assert capture_events.of(events.MessageAdded)[0] == {
        "ticket_id": ticket.pk,
        "message_id": message.pk,
        "author_id": desk.agent1.pk,
        "kind": "public",
        "by_customer": False,
    }
    assert capture_events.of(events.StatusChanged)[-1]["after"] == "open"
    first = ticket.first_response_at
    services.ticket_reply(
        actor=desk.agent1, ticket=ticket, body="Waiting for you", status="pending_customer"
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at == first
    assert ticket.status == Status.PENDING_CUSTOMER


@pytest.mark.parametrize("status", ["pending_customer", "pending_third_party", "on_hold", "solved"])
def test_customer_reply_reopens(desk: Desk, status: str, capture_events) -> None:
    ticket = open_ticket(desk)
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status=status)
    services.ticket_reply(actor=desk.alice, ticket=ticket, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.solved_at is None
    change = capture_events.of(events.StatusChanged)[-1]
    assert change == {
        "ticket_id": ticket.pk,
        "before": status,
        "after": "open",
        "reason": "customer_reply",
    }


def test_reply_to_closed_ticket_is_refused(desk: Desk) -> None:
    ticket = open_ticket(desk)
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status="solved")
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status="closed")
    with pytest.raises(Conflict) as error:
        services.ticket_reply(actor=desk.alice, ticket=ticket, body="Hello?")
    assert error.value.code == "ticket_closed"
    assert ticket.messages.count() == 1


def test_internal_note_is_hidden_from_customers(desk: Desk) -> None:
    ticket = open_ticket(desk)
    services.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Customer is VIP")
    with pytest.raises(PermissionDenied):
        services.ticket_add_note(actor=desk.alice, ticket=ticket, body="sneaky")
    staff_view = [m.body_text for m in ticket_messages(actor=desk.agent1, ticket=ticket)]
    customer_view = [m.body_text for m in ticket_messages(actor=desk.bob, ticket=ticket)]
    assert staff_view == ["It prints nothing.", "Customer is VIP"]
    assert customer_view == ["It prints nothing."]
    assert audit_actions(ticket) == ["created", "noted"]


def test_attachments_are_stored_and_deduplicated(desk: Desk, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path
    data = b"%PDF-1.4 fake invoice"
    ticket = open_ticket(
        desk,
        attachments=[
            AttachmentIn("../../etc/Счёт\x00.pdf", "application/pdf", data),
            AttachmentIn("copy.pdf", "application/pdf", data),
        ],
    )
    first, second = ticket.messages.get().attachments.order_by("pk")
    assert first.filename == "Счёт.pdf"
    assert first.size == len(data) and first.sha256 == second.sha256
    assert first.file.name == second.file.name
    assert default_storage.open(str(first.file.name)).read() == data


@override_settings(HELPLINE_MAX_ATTACHMENT_BYTES=10)
def test_oversized_and_blocked_attachments_are_rejected(desk: Desk) -> None:
    with pytest.raises(PayloadTooLarge) as too_large:
        open_ticket(desk, attachments=[AttachmentIn("big.bin", "", b"x" * 11)])
    assert too_large.value.fields == {"attachments.0": "too_large"}
    with pytest.raises(ValidationError) as error:
        open_ticket(desk, attachments=[AttachmentIn("run.EXE", "", b"MZ")])
    assert error.value.fields == {"attachments.0": "blocked_type"}
    assert Ticket.objects.count() == 0


# --- status ---------------------------------------------------------------------------------


def test_status_changes_follow_the_machine(desk: Desk, capture_events) -> None:
    ticket = open_ticket(desk)
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status="solved")
    ticket.refresh_from_db()
    assert ticket.solved_at is not None and ticket.closed_at is None
    with pytest.raises(InvalidTransition):
        services.ticket_change_status(actor=desk.agent1, ticket=ticket, status="pending_customer")
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status="closed")
    ticket.refresh_from_db()
    assert ticket.closed_at is not None
    with pytest.raises(InvalidTransition):
        services.ticket_change_status(actor=desk.admin, ticket=ticket, status="open")
    assert [(p["before"], p["after"]) for p in capture_events.of(events.StatusChanged)] == [
        ("new", "solved"),
        ("solved", "closed"),
    ]
    entries = AuditEntry.objects.filter(ticket=ticket, action="status_changed")
    assert [(e.before, e.after, e.actor_id) for e in entries] == [
        ("new", "solved", desk.agent1.pk),
        ("solved", "closed", desk.agent1.pk),
    ]


def test_customer_may_solve_and_reopen_but_not_more(desk: Desk) -> None:
    ticket = open_ticket(desk)
    with pytest.raises(InvalidTransition):
        services.ticket_change_status(actor=desk.alice, ticket=ticket, status="on_hold")
    services.ticket_change_status(actor=desk.bob, ticket=ticket, status="solved")  # same org
    services.ticket_change_status(actor=desk.alice, ticket=ticket, status="open")
    with pytest.raises(PermissionDenied):
        services.ticket_change_status(actor=desk.carol, ticket=ticket, status="solved")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_unknown_status_is_a_validation_error(desk: Desk) -> None:
    with pytest.raises(ValidationError):
        services.ticket_change_status(actor=desk.agent1, ticket=open_ticket(desk), status="bogus")


# --- fields ---------------------------------------------------------------------------------


def test_update_audits_each_changed_field(desk: Desk, capture_events) -> None:
    ticket = open_ticket(desk)
    services.ticket_update(
        actor=desk.agent1, ticket=ticket, priority="urgent", tags=["vip", "printer"], subject="Dead"
    )
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT and ticket.subject == "Dead"
    [payload] = capture_events.of(events.FieldsChanged)
    assert payload["changes"] == {
        "subject": ["Printer is broken", "Dead"],
        "priority": ["normal", "urgent"],
        "tags": [[], ["printer", "vip"]],
    }
    fields = set(AuditEntry.objects.filter(action="field_changed").values_list("field", flat=True))
    assert fields == {"subject", "priority", "tags"}
    # no change, no event
    services.ticket_update(actor=desk.agent1, ticket=ticket, priority="urgent")
    assert len(capture_events.of(events.FieldsChanged)) == 1
    with pytest.raises(PermissionDenied):
        services.ticket_update(actor=desk.alice, ticket=ticket, priority="low")
    with pytest.raises(ValidationError):
        services.ticket_update(actor=desk.agent1, ticket=ticket, priority="critical")


# --- assignment, transfer, escalation -------------------------------------------------------


def test_assign_and_unassign(desk: Desk, capture_events) -> None:
    ticket = open_ticket(desk)
    services.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent1)
    with pytest.raises(ValidationError) as error:
        services.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent2)
    assert error.value.fields == {"assignee": "not_in_team"}
    with pytest.raises(ValidationError):
        services.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.alice)
    services.ticket_unassign(actor=desk.agent1, ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert [(p["before_id"], p["assignee_id"]) for p in capture_events.of(events.Assigned)] == [
        (None, desk.agent1.pk),
        (desk.agent1.pk, None),
    ]
    assert audit_actions(ticket)[-2:] == ["assigned", "unassigned"]


def test_transfer_drops_assignee_outside_new_team(desk: Desk, capture_events) -> None:
    ticket = open_ticket(desk)
    services.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent1)
    services.ticket_transfer(
        actor=desk.agent1, ticket=ticket, team=desk.finance_team, note="Billing question"
    )
    ticket.refresh_from_db()
    assert ticket.team == desk.finance_team and ticket.assignee is None
    assert capture_events.of(events.Transferred)[0]["note"] == "Billing question"
    note = ticket.messages.get(kind=Message.Kind.INTERNAL)
    assert note.body_text == "Billing question"
    with pytest.raises(Conflict):
        services.ticket_transfer(actor=desk.finance, ticket=ticket, team=desk.finance_team)


def test_escalate_moves_to_next_line_with_handoff_note(desk: Desk, capture_events) -> None:
    ticket = open_ticket(desk)
    with pytest.raises(ValidationError) as invalid:
        services.ticket_escalate(actor=desk.agent1, ticket=ticket, note="  ")
    assert invalid.value.fields == {"note": "required"}
    services.ticket_escalate(actor=desk.agent1, ticket=ticket, note="Driver crash, needs L2")
    ticket.refresh_from_db()
    assert ticket.team == desk.l2
    assert capture_events.of(events.Escalated) == [
        {
            "ticket_id": ticket.pk,
            "from_team_id": desk.l1.pk,
            "to_team_id": desk.l2.pk,
            "note": "Driver crash, needs L2",
        }
    ]
    assert "escalated" in audit_actions(ticket)
    # L2 is the top line here
    with pytest.raises(Conflict) as error:
        services.ticket_escalate(actor=desk.agent2, ticket=ticket, note="more")
    assert error.value.code == "top_line"


def test_escalation_stays_within_department(desk: Desk) -> None:
    # given a department with its own lines, and the global L1/L2
    tech = team_create(actor=desk.admin, name="Technical", kind="department")
    tech1 = team_create(actor=desk.admin, name="Tech L1", kind="line", level=1, department=tech)
    tech3 = team_create(actor=desk.admin, name="Tech L3", kind="line", level=3, department=tech)
    ticket = services.ticket_create(
        actor=desk.admin, requester=desk.alice, subject="S", body="B", team=tech1
    )
    services.ticket_escalate(actor=desk.admin, ticket=ticket, note="deep issue")
    ticket.refresh_from_db()
    assert ticket.team == tech3


def test_department_ticket_cannot_escalate(desk: Desk) -> None:
    ticket = open_ticket(desk)
    services.ticket_transfer(actor=desk.agent1, ticket=ticket, team=desk.finance_team)
    with pytest.raises(Conflict) as error:
        services.ticket_escalate(actor=desk.finance, ticket=ticket, note="n")
    assert error.value.code == "not_on_line"


# --- merge, links, watchers -----------------------------------------------------------------


def test_merge_moves_messages_and_closes_source(desk: Desk, capture_events) -> None:
    target = open_ticket(desk, subject="Printer broken")
    source = services.ticket_create(actor=desk.bob, subject="Printer again", body="Same printer")
    services.ticket_reply(actor=desk.agent1, ticket=source, body="Looking")
    moved_ids = set(source.messages.values_list("pk", flat=True))
    services.ticket_merge(actor=desk.agent1, source=source, target=target)
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == Status.CLOSED and source.merged_into == target
    assert source.closed_at is not None
    assert moved_ids <= set(target.messages.values_list("pk", flat=True))
    assert target.messages.filter(moved_from=source).count() == 2
    assert target.message_count == target.messages.count() == 4  # 1 + 2 moved + merge note
    assert desk.bob in target.watchers.all()
    [merged] = capture_events.of(events.Merged)
    assert merged["ticket_id"] == source.pk and merged["into_ticket_id"] == target.pk
    assert set(merged["moved_message_ids"]) == moved_ids
    assert "merged" in audit_actions(source) and "merged_in" in audit_actions(target)
    with pytest.raises(Conflict):
        services.ticket_merge(actor=desk.agent1, source=source, target=target)
    with pytest.raises(ValidationError):
        services.ticket_merge(actor=desk.agent1, source=target, target=target)


def test_links_related_parent_and_cycles(desk: Desk, capture_events) -> None:
    a, b, c = (open_ticket(desk, subject=s) for s in "abc")
    services.ticket_link(actor=desk.agent1, ticket=b, other=a, kind="related")
    with pytest.raises(Conflict):  # related is symmetric: a-b is the same link
        services.ticket_link(actor=desk.agent1, ticket=a, other=b, kind="related")
    services.ticket_link(actor=desk.agent1, ticket=a, other=b, kind="parent")
    services.ticket_link(actor=desk.agent1, ticket=b, other=c, kind="parent")
    with pytest.raises(Conflict) as error:
        services.ticket_link(actor=desk.agent1, ticket=c, other=a, kind="parent")
    assert error.value.code == "cycle"
    with pytest.raises(Conflict) as error:
        services.ticket_link(actor=desk.agent1, ticket=a, other=c, kind="parent")
    assert error.value.code == "has_parent"
    seen_from_b = {
        (row["kind"], row["ticket"].pk) for row in ticket_links(actor=desk.agent1, ticket=b)
    }
    assert seen_from_b == {("related", a.pk), ("parent", a.pk), ("child", c.pk)}
    services.ticket_unlink(actor=desk.agent1, ticket=a, other=b, kind="related")
    assert not TicketLink.objects.filter(kind="related").exists()
    with pytest.raises(Conflict):
        services.ticket_unlink(actor=desk.agent1, ticket=a, other=b, kind="related")
    assert len(capture_events.of(events.Linked)) == 8  # 4 operations, both sides each


def test_watchers(desk: Desk) -> None:
    ticket = open_ticket(desk)
    services.ticket_watch(actor=desk.bob, ticket=ticket, user=desk.bob)
    services.ticket_watch(actor=desk.agent1, ticket=ticket, user=desk.agent2)
    with pytest.raises(PermissionDenied):
        services.ticket_watch(actor=desk.bob, ticket=ticket, user=desk.alice)
    assert set(ticket.watchers.all()) == {desk.bob, desk.agent2}
    services.ticket_watch(actor=desk.bob, ticket=ticket, user=desk.bob, watching=False)
    assert set(ticket.watchers.all()) == {desk.agent2}


# --- selectors --------------------------------------------------------------------------------


def test_list_filters_and_scoping(desk: Desk) -> None:
    mine = open_ticket(desk)
    colleague = services.ticket_create(actor=desk.bob, subject="Bob's", body="b")
    other_org = services.ticket_create(actor=desk.carol, subject="Carol's", body="c")
    finance = services.ticket_create(
        actor=desk.finance, requester=desk.dave, subject="Refund", body="r", team=desk.finance_team
    )
    services.ticket_update(actor=desk.agent1, ticket=mine, priority="high", tags=["vip"])

    def ids(actor, **filters) -> set[int]:
        return set(
            ticket_list(actor=actor, filters=TicketFilters(**filters)).values_list("pk", flat=True)
        )

    assert ids(desk.alice) == {mine.pk, colleague.pk}
    assert ids(desk.carol) == {other_org.pk}
    assert ids(desk.dave) == {finance.pk}
    assert ids(desk.agent1) == {mine.pk, colleague.pk, other_org.pk}
    assert ids(desk.finance) == {finance.pk}
    assert ids(desk.supervisor) == {mine.pk, colleague.pk, other_org.pk, finance.pk}
    assert ids(desk.admin, priority=["high"]) == {mine.pk}
    assert ids(desk.admin, tag="vip") == {mine.pk}
    assert ids(desk.admin, organization=desk.acme.pk) == {mine.pk, colleague.pk}
    assert ids(desk.admin, team=desk.finance_team.pk, status=["new"]) == {finance.pk}
    assert ids(desk.admin, unassigned=True) == {mine.pk, colleague.pk, other_org.pk, finance.pk}


def test_org_privacy_setting_limits_customers_to_own_tickets(desk: Desk) -> None:
    from helpline.accounts.services import organization_update

    mine = open_ticket(desk)
    services.ticket_create(actor=desk.bob, subject="Bob's", body="b")
    organization_update(actor=desk.admin, organization=desk.acme, members_see_all_tickets=False)
    desk.alice.refresh_from_db()
    assert list(ticket_list(actor=desk.alice).values_list("pk", flat=True)) == [mine.pk]


def test_only_agents_create_staff_and_agents_may_create_customers(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        user_create(actor=desk.agent1, email="new-agent@helpline.test", role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        user_create(actor=desk.alice, email="friend@acme.test")
    customer = user_create(actor=desk.agent1, email="New@Acme.test")
    assert customer.email == "new@acme.test" and customer.organization == desk.acme
