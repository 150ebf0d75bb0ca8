"""The desk's queue tools: saved views, bulk actions, instant search, keyboard help."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpline.core.testing import PASSWORD, EventCapture
from helpline.tickets import events, saved_views, services
from helpline.tickets.models import AuditEntry, SavedView, Status, Ticket

pytestmark = pytest.mark.django_db


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.email, password=PASSWORD)
    return client


def new_ticket(desk: Any, subject: str, **kwargs: Any) -> Ticket:
    return services.ticket_create(
        actor=kwargs.pop("actor", desk.alice), subject=subject, body="Please help.", **kwargs
    )


QUEUE = reverse("tickets:desk")
BULK = reverse("tickets:desk_bulk")
SEARCH = reverse("tickets:desk_search")


# --- saved views ----------------------------------------------------------------------------


def test_filters_are_validated_like_the_api() -> None:
    clean = saved_views.clean_filters(
        {"status": ["open", "new"], "priority": "urgent", "assignee": "me", "team": "3", "q": ""}
    )
    assert clean == {"status": ["open", "new"], "priority": ["urgent"], "assignee": "me", "team": 3}
    for bad in (
        {"status": ["nonsense"]},
        {"priority": ["enormous"]},
        {"team": "x"},
        {"team": -1},
        {"channel": "pigeon"},
        {"created_after": "yesterday"},
        {"colour": "red"},
    ):
        with pytest.raises(saved_views.ValidationError):
            saved_views.clean_filters(bad)


def test_save_a_view_from_the_queue_and_open_it(desk: Any) -> None:
    urgent = new_ticket(desk, "Urgent printer")
    services.ticket_update(actor=desk.agent1, ticket=urgent, priority="urgent")
    new_ticket(desk, "Normal printer")
    client = client_for(desk.agent1)
    page = client.get(QUEUE, {"view": "team", "priority": "urgent"})
    filters = page.context["filters_json"]
    response = client.post(
        reverse("tickets:desk_view_save"),
        {"name": "Urgent, unassigned", "filters": filters, "sort": "-priority", "shared": "on"},
    )
    view = SavedView.objects.get(owner=desk.agent1)
    assert response.status_code == 302 and response["Location"].endswith(f"view=saved-{view.pk}")
    assert view.filters == {
        "unassigned": True,
        "status": view.filters["status"],
        "priority": ["urgent"],
    }
    assert view.shared and view.sort == "-priority"
    body = client.get(QUEUE, {"view": f"saved-{view.pk}"}).content.decode()
    assert "Urgent printer" in body and "Normal printer" not in body
    # shared: another agent sees it (through their own visibility); a customer never
    assert client_for(desk.agent2).get(QUEUE, {"view": f"saved-{view.pk}"}).status_code == 200
    assert client_for(desk.alice).get(QUEUE, {"view": f"saved-{view.pk}"}).status_code == 404


def test_private_views_stay_private_and_only_owners_delete(desk: Any) -> None:
    view = saved_views.saved_view_create(actor=desk.agent1, name="Mine", filters={"assignee": "me"})
    assert client_for(desk.agent2).get(QUEUE, {"view": f"saved-{view.pk}"}).status_code == 404
    delete = reverse("tickets:desk_view_delete", args=[view.pk])
    assert client_for(desk.agent2).post(delete).status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    assert client_for(desk.agent1).post(delete).status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_a_stored_view_with_stale_filters_shows_an_error_not_a_500(desk: Any) -> None:
    view = SavedView.objects.create(owner=desk.agent1, name="Old", filters={"colour": "red"})
    response = client_for(desk.agent1).get(QUEUE, {"view": f"saved-{view.pk}"})
    assert response.status_code == 200
    assert "Unknown filter: colour." in response.content.decode()


def test_saving_bad_filters_is_refused(desk: Any) -> None:
    client = client_for(desk.agent1)
    response = client.post(
        reverse("tickets:desk_view_save"),
        {"name": "Bad", "filters": json.dumps({"status": ["nonsense"]})},
        follow=True,
    )
    assert response.status_code == 200
    assert "invalid value" in response.content.decode()
    assert not SavedView.objects.exists()


def test_saved_view_forms_enforce_csrf(desk: Any) -> None:
    client = client_for(desk.agent1, enforce_csrf_checks=True)
    url = reverse("tickets:desk_view_save")
    assert client.post(url, {"name": "X", "filters": "{}"}).status_code == 403
    token = client.get(QUEUE).cookies["csrftoken"].value
    accepted = client.post(url, {"name": "X", "filters": "{}", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert SavedView.objects.filter(name="X").exists()


# --- bulk actions ---------------------------------------------------------------------------


def test_bulk_assign_status_priority_and_tag_go_through_the_services(desk: Any) -> None:
    tickets = [new_ticket(desk, f"Bulk {index}") for index in range(3)]
    ids = [t.pk for t in tickets]
    client = client_for(desk.agent1)
    captured = EventCapture()  # the bulk actions' events from here on
    for data in (
        {"action": "assign", "assignee": "me"},
        {"action": "priority", "priority": "high"},
        {"action": "tag", "tag": "outage"},
        {"action": "status", "status": Status.OPEN},
    ):
        response = client.post(BULK, {"ids": ids, "next": QUEUE + "?view=mine", **data})
        assert response.status_code == 302 and response["Location"] == QUEUE + "?view=mine"
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.assignee == desk.agent1
        assert ticket.priority_key == "high" and ticket.status == Status.OPEN
        assert list(ticket.tags.values_list("name", flat=True)) == ["outage"]
        actions = set(
            AuditEntry.objects.filter(ticket=ticket, actor=desk.agent1).values_list(
                "action", flat=True
            )
        )
        assert {"assigned", "field_changed", "status_changed"} <= actions
    # one event per ticket and action, exactly as the single actions emit them
    for event_cls in (events.Assigned, events.FieldsChanged, events.StatusChanged):
        payloads = captured.of(event_cls)
        assert sorted(p["ticket_id"] for p in payloads) == sorted(
            ids * (2 if event_cls is events.FieldsChanged else 1)
        )


def test_bulk_reports_errors_per_ticket_and_hides_invisible_ones(desk: Any) -> None:
    ok = new_ticket(desk, "Fine")
    closed = new_ticket(desk, "Closed one")
    services.ticket_change_status(actor=desk.agent1, ticket=closed, status=Status.SOLVED)
    services.ticket_change_status(actor=desk.agent1, ticket=closed, status=Status.CLOSED)
    hidden = services.ticket_create(
        actor=desk.admin,
        requester=desk.carol,
        subject="Finance only",
        body="x",
        team=desk.finance_team,
    )
    response = client_for(desk.agent1).post(
        BULK,
        {"ids": [ok.pk, closed.pk, hidden.pk], "action": "priority", "priority": "urgent"},
        follow=True,
    )
    body = response.content.decode()
    assert "1 ticket is updated." in body
    assert f"#{closed.pk}:" in body and f"#{hidden.pk}:" in body
    assert "Finance only" not in body
    for ticket in (ok, closed, hidden):
        ticket.refresh_from_db()
    assert ok.priority_key == "urgent"
    assert closed.priority_key == "normal" and hidden.priority_key == "normal"


def test_bulk_transfer_and_merge(desk: Any) -> None:
    first, second, target = (new_ticket(desk, f"Dup {index}") for index in range(3))
    client = client_for(desk.supervisor)
    client.post(BULK, {"ids": [first.pk], "action": "transfer", "team": desk.l2.pk})
    first.refresh_from_db()
    assert first.team == desk.l2
    client.post(
        BULK, {"ids": [first.pk, second.pk, target.pk], "action": "merge", "target": target.pk}
    )
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert ticket.merged_into_id == target.pk and ticket.status == Status.CLOSED
    target.refresh_from_db()
    assert target.merged_into_id is None and target.status != Status.CLOSED


def test_bulk_needs_the_action_parameter_and_csrf(desk: Any) -> None:
    ticket = new_ticket(desk, "Lonely")
    client = client_for(desk.agent1, enforce_csrf_checks=True)
    assert client.post(BULK, {"ids": [ticket.pk], "action": "tag", "tag": "x"}).status_code == 403
    token = client.get(QUEUE).cookies["csrftoken"].value
    response = client.post(
        BULK, {"ids": [ticket.pk], "action": "tag", "csrfmiddlewaretoken": token}, follow=True
    )
    assert "Required for this action." in response.content.decode()
    assert not ticket.tags.exists()
    # customers have no desk
    assert client_for(desk.alice).post(BULK, {"ids": [ticket.pk]}).status_code == 404


def test_queue_tools_load_on_demand_with_the_current_filters(desk: Any) -> None:
    client = client_for(desk.agent1)
    tools = reverse("tickets:desk_queue_tools")
    queue = client.get(QUEUE, {"view": "team", "priority": "urgent"}).content.decode()
    assert 'hx-trigger="load"' in queue  # a filtered queue shows its filters at once
    filters = client.get(tools, {"part": "filters", "view": "team", "priority": "urgent"})
    body = filters.content.decode()
    assert filters.status_code == 200 and "<html" not in body
    assert 'value="urgent" checked' in body and 'name="view" value="team"' in body
    bulk = client.get(tools, {"part": "bulk"}).content.decode()
    assert 'name="action"' in bulk and "Ivan Second" in bulk and desk.l2.name in bulk
    assert client.get(tools, {"part": "other"}).status_code == 404
    assert client_for(desk.alice).get(tools, {"part": "bulk"}).status_code == 404


def test_desk_permission_matrix(desk: Any) -> None:
    ticket = new_ticket(desk, "Matrix")
    view = saved_views.saved_view_create(actor=desk.agent1, name="Shared", filters={}, shared=True)
    pages = [
        QUEUE,
        QUEUE + f"?view=saved-{view.pk}",
        reverse("tickets:desk_ticket", args=[ticket.pk]),
        SEARCH + "?q=matrix",
        reverse("tickets:desk_queue_tools") + "?part=bulk",
    ]
    posts = [
        BULK,
        reverse("tickets:desk_view_save"),
        reverse("tickets:desk_view_delete", args=[view.pk]),
        reverse("tickets:desk_action", args=[ticket.pk, "note"]),
    ]
    anonymous, customer = Client(), client_for(desk.alice)
    for url in pages + posts:
        response = anonymous.post(url) if url in posts else anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        response = customer.post(url) if url in posts else customer.get(url)
        assert response.status_code == 404, url
    for user in (desk.agent1, desk.agent2, desk.supervisor, desk.admin):
        client = client_for(user)
        for url in pages:
            expected = 404 if user == desk.agent2 and "/tickets/" in url else 200
            assert client.get(url).status_code == expected, (user, url)
    # the ticket is L1's: the L2 agent gets the same 404 as for a missing ticket
    assert (
        client_for(desk.agent2).get(reverse("tickets:desk_ticket", args=[999999])).status_code
        == 404
    )
    assert SavedView.objects.filter(pk=view.pk).exists()


# --- search ---------------------------------------------------------------------------------


def test_instant_search_is_scoped_to_what_the_agent_sees(
    desk: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # indexing runs after commit
        mine = new_ticket(desk, "Toner cartridge leaking")
        services.ticket_create(
            actor=desk.admin,
            requester=desk.carol,
            subject="Toner invoice",
            body="x",
            team=desk.finance_team,
        )
    client = client_for(desk.agent1)
    fragment = client.get(SEARCH, {"q": "toner"}, HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert "Toner cartridge leaking" in body and "Toner invoice" not in body
    by_number = client.get(SEARCH, {"q": f"#{mine.pk}"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Toner cartridge leaking" in by_number
    full = client.get(SEARCH, {"q": "toner"})
    assert "<html" in full.content.decode() and "Toner cartridge leaking" in full.content.decode()
    supervisor = client_for(desk.supervisor).get(SEARCH, {"q": "toner"}, HTTP_HX_REQUEST="true")
    assert "Toner invoice" in supervisor.content.decode()
    assert client_for(desk.alice).get(SEARCH, {"q": "toner"}).status_code == 404
    assert Client().get(SEARCH, {"q": "toner"}).status_code == 302


def test_desk_pages_carry_shortcuts_and_the_search_box(desk: Any) -> None:
    ticket = new_ticket(desk, "Keyboard")
    client = client_for(desk.agent1)
    for url in (QUEUE, reverse("tickets:desk_ticket", args=[ticket.pk])):
        body = client.get(url).content.decode()
        assert "helpline/desk.js" in body and "helpline/desk.css" in body
        assert 'id="shortcut-help"' in body and 'id="desk-search"' in body
    page = client.get(reverse("tickets:desk_ticket", args=[ticket.pk])).content.decode()
    for field_id in ('id="reply-body"', 'id="note-body"', 'id="escalate-note"'):
        assert field_id in page
