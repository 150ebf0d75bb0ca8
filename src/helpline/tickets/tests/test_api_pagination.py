"""Cursor pagination of the ticket API: every sort key walks all pages without duplicates or
gaps, also when many tickets share a sort value and when tickets change between pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from helpline.core.api_testing import api_call
from helpline.tickets import services
from helpline.tickets.models import Priority, Ticket

TICKETS = "/api/v1/tickets"
SORTS = ["-updated_at", "updated_at", "-created_at", "created_at", "-priority", "priority", "id"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tickets(desk):
    """13 tickets whose timestamps and priorities come in tied groups of three."""
    base = timezone.now() - timedelta(days=1)
    created = []
    for index in range(13):
        ticket = services.ticket_create(
            actor=desk.agent1,
            requester=desk.alice,
            subject=f"ticket {index}",
            body="x",
            priority=list(Priority)[index % 4].key,
        )
        created.append(ticket)
    for index, ticket in enumerate(created):
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=base + timedelta(minutes=index // 3),
            updated_at=base + timedelta(hours=1, minutes=(13 - index) // 3),
        )
    return created


def walk(client, *, limit, **query):
    """All pages of GET /tickets; returns the ids in order and the number of pages."""
    ids: list[int] = []
    pages = 0
    cursor = None
    while True:
        params = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = api_call(client, "get", TICKETS, query=params, expect=200).json()
        pages += 1
        assert len(page["items"]) <= limit
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


def expected_order(sort: str) -> list[int]:
    field = sort.lstrip("-")
    rows = list(Ticket.objects.values_list(field, "id"))
    return [pk for _value, pk in sorted(rows, reverse=sort.startswith("-"))]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 3, 5, 13, 50])
def test_every_sort_key_pages_without_duplicates_or_gaps(client, desk, tickets, sort, limit):
    client.force_login(desk.agent1)
    ids, pages = walk(client, limit=limit, sort=sort)
    assert len(ids) == len(set(ids)) == 13
    assert ids == expected_order(sort)
    assert pages == -(-13 // limit)  # ceil: no trailing empty page


def test_filters_and_pagination_combine(client, desk, tickets):
    client.force_login(desk.agent1)
    ids, _pages = walk(client, limit=2, sort="-priority", priority=["urgent", "low"])
    expected = [
        t.pk
        for t in sorted(
            Ticket.objects.filter(priority__in=[Priority.URGENT, Priority.LOW]),
            key=lambda t: (t.priority, t.pk),
            reverse=True,
        )
    ]
    assert ids == expected and len(ids) == 7


def test_changes_between_pages_neither_repeat_nor_skip(client, desk, tickets):
    # given the first page of the default order (most recently updated first)
    client.force_login(desk.agent1)
    first = api_call(client, "get", TICKETS, query={"limit": 5}, expect=200).json()
    seen = [item["id"] for item in first["items"]]
    # when a ticket from the first page is updated and a new ticket arrives
    bumped = Ticket.objects.get(pk=seen[2])
    services.ticket_update(actor=desk.agent1, ticket=bumped, priority="urgent")
    services.ticket_create(actor=desk.alice, subject="newcomer", body="x")
    # then the remaining pages hold exactly the tickets not seen yet
    rest: list[int] = []
    cursor = first["next_cursor"]
    while cursor:
        page = api_call(client, "get", TICKETS, query={"limit": 5, "cursor": cursor}).json()
        rest.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
    assert not set(seen) & set(rest)
    assert set(seen) | set(rest) == {t.pk for t in tickets}


def test_messages_and_audit_page_in_order(client, desk):
    ticket = services.ticket_create(actor=desk.alice, subject="chatty", body="0")
    for index in range(1, 7):
        services.ticket_reply(actor=desk.alice, ticket=ticket, body=str(index))
    client.force_login(desk.agent1)
    bodies: list[str] = []
    cursor = None
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api_call(
            client, "get", f"{TICKETS}/{ticket.pk}/messages", query=query, expect=200
        ).json()
        bodies.extend(item["body_text"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert bodies == [str(index) for index in range(7)]
    audit_ids: list[int] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api_call(
            client, "get", f"{TICKETS}/{ticket.pk}/audit", query=query, expect=200
        ).json()
        audit_ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert audit_ids == sorted(audit_ids)
    assert len(audit_ids) == ticket.audit_entries.count() == 7
