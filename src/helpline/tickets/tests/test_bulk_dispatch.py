"""Bulk-created tickets dispatched as one batch (batch receivers) end as they would with
their `ticket.created` events dispatched one by one: the same SLA timers, assignments,
audit entries, e-mails, events and search index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from helpline.core import events as core_events
from helpline.core import search
from helpline.core.models import OutboxEvent
from helpline.notifications.models import OutboundEmail
from helpline.routing import services as routing
from helpline.sla import config as sla_config
from helpline.tickets.bulk import NewTicket, ticket_create_many
from helpline.tickets.models import AuditEntry, Ticket

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)
    yield


@pytest.fixture
def busy_desk(desk: Any, frozen: None, django_capture_on_commit_callbacks: Any) -> Any:
    """SLA policy on an office calendar, round robin on L1, waiting and answered tickets."""
    sla_config.calendar_create(
        actor=desk.admin, name="Office", hours=WEEKDAYS_9_TO_5, is_default=True
    )
    sla_config.policy_create(
        actor=desk.admin,
        name="Standard",
        position=100,
        first_response_minutes=60,
        next_response_minutes=120,
        resolution_minutes=480,
    )
    routing.team_routing_set(actor=desk.admin, team=desk.l1, strategy="round_robin")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_create_many(
            actor=desk.agent1,
            items=[NewTicket(subject=f"Old {n}", body="x", requester=desk.dave) for n in range(3)],
        )
    return desk


def _create(desk: Any) -> list[Ticket]:
    customers = [desk.alice, desk.bob, desk.carol, desk.dave]
    items = [
        NewTicket(
            subject=f"Request {n}",
            body=f"Printer number {n} is jammed",
            requester=customers[n % 4],
            priority="high" if n == 3 else "normal",
            team=desk.l2 if n == 4 else None,
        )
        for n in range(6)
    ]
    items.append(NewTicket(subject="For a colleague", body="x", requester=desk.agent2))
    return ticket_create_many(actor=desk.agent1, items=items)


def _norm(text: str) -> str:
    return re.sub(r"https?://\S+", "URL", re.sub(r"#\d+", "#N", text))


def _payload(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("ticket_id", "timer_id", "message_id")}


def _snapshot(tickets: list[Ticket]) -> list[dict[str, Any]]:
    rows = []
    for ticket in tickets:
        ticket = Ticket.objects.get(pk=ticket.pk)
        emails = OutboundEmail.objects.filter(ticket=ticket).order_by("kind", "pk")
        outbox = OutboxEvent.objects.filter(aggregate_type="ticket", aggregate_id=str(ticket.pk))
        rows.append(
            {
                "ticket": (ticket.assignee_id, ticket.sla_due_at, ticket.status),
                "timers": sorted(
                    ticket.sla_timers.values_list(
                        "kind", "state", "target_seconds", "due_at", "warn_at", "policy_id"
                    )
                ),
                "audit": [
                    (entry.action, entry.field, entry.actor_id, entry.after, entry.note)
                    for entry in AuditEntry.objects.filter(ticket=ticket).order_by("pk")
                    if entry.action != "created"
                ],
                "emails": [
                    (
                        email.kind,
                        email.recipients,
                        email.recipient_user_id,
                        email.from_address,
                        email.identity_id,
                        _norm(email.subject),
                        _norm(email.body_text),
                        _norm(email.body_html),
                        bool(email.in_reply_to),
                        len(email.references.split()),
                        {k: v for k, v in email.headers.items() if k != "X-Helpline-Ticket"},
                        email.status,
                    )
                    for email in emails
                ],
                "events": sorted(
                    (record.type, str(_payload(record.payload)), record.dispatched_at is not None)
                    for record in outbox
                ),
            }
        )
    return rows


def test_a_batch_dispatch_does_what_dispatching_each_event_does(
    busy_desk: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = busy_desk
    # Given (then rolled back) the tickets' events dispatched one by one, the receivers'
    # single forms only
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=False):
            one_by_one = _create(desk)
        ids = list(
            OutboxEvent.objects.filter(type="ticket.created", dispatched_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        assert len(ids) == 7
        with monkeypatch.context() as patch:
            for event_type, entries in list(core_events.RECEIVERS.items()):
                patch.setitem(
                    core_events.RECEIVERS, event_type, [replace(e, batch=None) for e in entries]
                )
            with django_capture_on_commit_callbacks(execute=True):
                for event_id in ids:
                    with transaction.atomic():
                        core_events.dispatch(event_id)
            expected = _snapshot(one_by_one)
        transaction.set_rollback(True)
    # When the same tickets are created in bulk and their events dispatched as one batch
    with django_capture_on_commit_callbacks(execute=True):
        batch = _create(desk)
    got = _snapshot(batch)
    # Then every ticket ends the same
    assert got == expected
    # (and the batch did everything: timers, assignment, the receipt e-mail, the index)
    first = got[0]
    assert [timer[0] for timer in first["timers"]] == ["first_response", "resolution"]
    assert first["ticket"][0] is not None and first["ticket"][1] is not None
    kinds = [email[0] for row in got for email in row["emails"]]
    assert kinds.count("ticket_received") == 6  # not to the agent's own request
    assert kinds.count("assigned") >= 5
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
    matching = search.matching_ticket_ids("jammed", include_internal=True)
    indexed = set(Ticket.objects.filter(pk__in=matching).values_list("pk", flat=True))
    assert {ticket.pk for ticket in batch[:6]} <= indexed
