"""The ticket list and search render pages from plain rows (`ticket_list_rows`): their JSON
must be byte for byte what validating the model instances against `TicketOut` gives."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from helpline.accounts import services as accounts
from helpline.accounts.models import User
from helpline.api import Page, PageParams, api, paginate
from helpline.core.api_testing import api_call
from helpline.tickets import catalog, services
from helpline.tickets.api import TicketFilterParams, _filtered
from helpline.tickets.schemas import TicketOut
from helpline.tickets.selectors import with_list_relations


@pytest.fixture
def mixed(desk, django_capture_on_commit_callbacks):
    """Tickets with every optional part set or empty, and requesters named three ways."""
    with django_capture_on_commit_callbacks(execute=True):
        return _mixed(desk)


def _mixed(desk):
    catalog.custom_field_create(
        actor=desk.admin, key="order", label="Order", type="text", visible_to_customers=True
    )
    catalog.custom_field_create(actor=desk.admin, key="risk", label="Risk", type="text")
    hardware = catalog.category_create(actor=desk.admin, name="Hardware")
    named = accounts.user_create(actor=None, email="nina@acme.test")
    User.objects.filter(pk=named.pk).update(first_name="Nina", last_name="Noname")
    bare = accounts.user_create(actor=None, email="bare@example.test")
    tickets = [
        services.ticket_create(actor=desk.alice, subject="Printer paper jam", body="paper"),
        services.ticket_create(
            actor=desk.agent1,
            requester=named,
            subject="Refund «ёлка» 电子发票",
            body="paper",
            channel="phone",
            priority="urgent",
            tags=["vip", "billing", "a-tag"],
            category=hardware,
            assignee=desk.agent1,
            custom_fields={"order": "A-1", "risk": "fraud?"},
        ),
        services.ticket_create(
            actor=desk.agent1, requester=bare, subject="paper", body="x", team=desk.l2
        ),
        services.ticket_create(
            actor=desk.agent1,
            requester=desk.alice,
            subject="Paper again",
            body="x",
            custom_fields={"order": "B-2"},
        ),
    ]
    services.ticket_reply(actor=desk.agent1, ticket=tickets[0], body="On it", status="solved")
    services.ticket_merge(actor=desk.admin, source=tickets[3], target=tickets[0])
    return tickets


def _reference(user, params, q, cursor, limit):
    """The page as ninja renders it from model instances validated against the schema."""
    request = RequestFactory().get("/api/v1/tickets")
    request.auth = user  # type: ignore[attr-defined]
    queryset = with_list_relations(_filtered(user, params, q))
    page = paginate(queryset, PageParams(cursor=cursor, limit=limit), order_by=params.sort)
    dumped = (
        Page[TicketOut]
        .model_validate(
            {"items": page["items"], "next_cursor": page["next_cursor"]},
            from_attributes=True,
            context={"request": request},
        )
        .model_dump()
    )
    return api.renderer.render(request, dumped, response_status=200).encode()


@pytest.mark.parametrize("viewer", ["admin", "agent1", "alice"])
@pytest.mark.parametrize(
    ("path", "sort"),
    [
        ("/api/v1/tickets", "-updated_at"),
        ("/api/v1/tickets", "created_at"),
        ("/api/v1/tickets", "-priority"),
        ("/api/v1/tickets", "id"),
        ("/api/v1/tickets", "sla_due_at"),
        ("/api/v1/search", "-updated_at"),
        ("/api/v1/search", "priority"),
    ],
)
def test_pages_render_as_the_schema_does(desk, mixed, viewer, path, sort):
    user = getattr(desk, viewer)
    q = "paper" if path.endswith("search") else ""
    params = TicketFilterParams.model_validate({"sort": sort})
    client = Client()
    cursor = None
    seen = []
    while True:
        query = {"sort": sort, "limit": 2, **({"q": q} if q else {})}
        if cursor:
            query["cursor"] = cursor
        response = api_call(client, "get", path, user=user, query=query, expect=200)
        assert response.content == _reference(user, params, q, cursor, 2)
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    visible = _filtered(user, params, q).values_list("pk", flat=True)
    assert sorted(seen) == sorted(visible)
    assert seen or sort == "sla_due_at"


def test_rows_carry_every_field_of_the_schema(desk, mixed):
    response = api_call(Client(), "get", "/api/v1/tickets", user=desk.admin, expect=200)
    items = response.json()["items"]
    assert all(list(item) == list(TicketOut.model_fields) for item in items)
    refund = next(item for item in items if item["subject"].startswith("Refund"))
    assert refund["tags"] == ["a-tag", "billing", "vip"]
    assert refund["requester"]["name"] == "Nina Noname"
    assert refund["custom_fields"] == {"order": "A-1", "risk": "fraud?"}
    bare = next(item for item in items if item["subject"] == "paper")
    assert bare["requester"]["name"] == "bare@example.test"
