"""The agent desk: queues, the ticket page and its actions, through the test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpline.core.testing import PASSWORD
from helpline.tickets import services
from helpline.tickets.models import AuditEntry, Message, Status, Ticket

pytestmark = pytest.mark.django_db


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.email, password=PASSWORD)
    return client


def new_ticket(desk: Any, subject: str = "Printer is on fire", **kwargs: Any) -> Any:
    return services.ticket_create(
        actor=kwargs.pop("actor", desk.alice), subject=subject, body="Please help.", **kwargs
    )


def desk_url(ticket: Ticket) -> str:
    return reverse("tickets:desk_ticket", args=[ticket.pk])


def action_url(ticket: Ticket, action: str) -> str:
    return reverse("tickets:desk_action", args=[ticket.pk, action])


# --- access ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(desk: Any) -> None:
    ticket = new_ticket(desk)
    for url in (reverse("tickets:desk"), desk_url(ticket)):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_customer_gets_404_on_the_desk(desk: Any) -> None:
    ticket = new_ticket(desk)
    client = client_for(desk.alice)
    assert client.get(reverse("tickets:desk")).status_code == 404
    assert client.get(desk_url(ticket)).status_code == 404
    assert client.post(action_url(ticket, "note"), {"body": "x"}).status_code == 404
    assert not Message.objects.filter(ticket=ticket, kind="internal").exists()


def test_agent_of_another_team_gets_404_on_the_ticket(desk: Any) -> None:
    # Given a ticket on L1, when the finance agent (not in L1) opens it, then it does not exist
    ticket = new_ticket(desk)
    assert client_for(desk.finance).get(desk_url(ticket)).status_code == 404
    assert client_for(desk.agent1).get(desk_url(ticket)).status_code == 200


def test_all_open_queue_is_for_supervisors(desk: Any) -> None:
    new_ticket(desk)
    all_url = reverse("tickets:desk") + "?view=all"
    assert client_for(desk.agent1).get(all_url).status_code == 404
    response = client_for(desk.supervisor).get(all_url)
    assert response.status_code == 200
    assert "Printer is on fire" in response.content.decode()


# --- queues ---------------------------------------------------------------------------------


def test_queues_show_the_right_tickets(desk: Any) -> None:
    unassigned = new_ticket(desk, "Unassigned one")
    mine = new_ticket(desk, "Assigned to me")
    services.ticket_assign(actor=desk.agent1, ticket=mine, assignee=desk.agent1)
    pending = new_ticket(desk, "Waiting for Alice")
    services.ticket_change_status(actor=desk.agent1, ticket=pending, status=Status.PENDING_CUSTOMER)
    solved = new_ticket(desk, "Done already")
    services.ticket_change_status(actor=desk.agent1, ticket=solved, status=Status.SOLVED)
    client = client_for(desk.agent1)

    def subjects(view: str) -> str:
        response = client.get(reverse("tickets:desk") + f"?view={view}")
        assert response.status_code == 200
        return response.content.decode()

    assert mine.subject in subjects("mine")
    assert unassigned.subject not in subjects("mine")
    assert unassigned.subject in subjects("team")
    assert mine.subject not in subjects("team")
    assert pending.subject in subjects("pending")
    assert unassigned.subject not in subjects("pending")
    assert solved.subject in subjects("solved")
    assert unassigned.subject not in subjects("solved")


def test_queue_sorts_by_column_and_paginates_by_cursor(desk: Any) -> None:
    tickets = [new_ticket(desk, f"Ticket {index:02d}") for index in range(30)]
    services.ticket_update(actor=desk.agent1, ticket=tickets[5], priority="urgent")
    client = client_for(desk.supervisor)
    page1 = client.get(reverse("tickets:desk"), {"view": "all", "sort": "number"})
    body = page1.content.decode()
    assert body.index("Ticket 00") < body.index("Ticket 01")
    assert "Ticket 29" not in body  # 25 per page
    assert 'aria-sort="ascending"' in body
    cursor = page1.context["next_cursor"]
    assert cursor and "Page 1 of" not in body  # keyset: no page count, no COUNT(*)
    page2 = client.get(reverse("tickets:desk"), {"view": "all", "sort": "number", "cursor": cursor})
    assert "Ticket 29" in page2.content.decode()
    assert "Ticket 00" not in page2.content.decode()
    assert page2.context["next_cursor"] is None
    descending = client.get(reverse("tickets:desk"), {"view": "all", "sort": "-number"})
    assert "Ticket 29" in descending.content.decode()
    assert "Ticket 00" not in descending.content.decode()
    by_priority = client.get(reverse("tickets:desk"), {"view": "all", "sort": "-priority"})
    assert by_priority.context["tickets"][0].pk == tickets[5].pk
    # a cursor made for another ordering (or garbage) falls back to the first page
    bad = client.get(reverse("tickets:desk"), {"view": "all", "sort": "-number", "cursor": cursor})
    assert bad.status_code == 200 and "Ticket 29" in bad.content.decode()
    # an unknown sort falls back to the default (most recently updated first)
    assert (
        client.get(reverse("tickets:desk"), {"view": "all", "sort": "subject"}).status_code == 200
    )


def test_queue_filters_use_the_api_names_and_reject_bad_values(desk: Any) -> None:
    urgent = new_ticket(desk, "Urgent printer")
    services.ticket_update(actor=desk.agent1, ticket=urgent, priority="urgent", tags=["vip"])
    new_ticket(desk, "Normal printer")
    client = client_for(desk.agent1)
    url = reverse("tickets:desk")
    body = client.get(url, {"view": "team", "priority": "urgent"}).content.decode()
    assert "Urgent printer" in body and "Normal printer" not in body
    body = client.get(url, {"view": "team", "tag": "vip"}).content.decode()
    assert "Urgent printer" in body and "Normal printer" not in body
    refused = client.get(url, {"view": "team", "priority": "enormous"})
    assert refused.status_code == 200
    assert "alert-error" in refused.content.decode()
    assert client.get(url, {"view": "nonsense"}).status_code == 404


# --- the ticket page ------------------------------------------------------------------------


def test_ticket_page_shows_thread_card_and_audit(desk: Any) -> None:
    ticket = new_ticket(
        desk,
        attachments=[services.AttachmentIn("log.txt", "text/plain", b"boom")],
    )
    services.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Secret agent note")
    services.ticket_reply(actor=desk.agent1, ticket=ticket, body="Public answer")
    other = new_ticket(desk, "Older issue of Alice")
    response = client_for(desk.agent1).get(desk_url(ticket))
    body = response.content.decode()
    assert response.status_code == 200
    # thread: notes are marked as internal, replies as public, attachments linked
    assert "msg-internal" in body and "Secret agent note" in body
    assert "Public answer" in body
    attachment = ticket.messages.get(kind="public", author=desk.alice).attachments.get()
    assert reverse("tickets:attachment", args=[attachment.pk]) in body
    # requester card: name, organization, plan, service manager, other tickets
    for text in ("Alice Acme", "Acme", "Premium", "Ivan Second", other.subject):
        assert text in body
    # the audit trail
    assert 'id="audit"' in body
    assert "created the ticket" in body
    assert "added an internal note" in body
    assert "replied" in body
    assert "Escalate to L2" in body


def test_reply_via_desk_adds_message_and_audit_entry(desk: Any) -> None:
    ticket = new_ticket(desk)
    client = client_for(desk.agent1)
    upload = SimpleUploadedFile("screen.png", b"\x89PNG fake", content_type="image/png")
    response = client.post(
        action_url(ticket, "reply"),
        {"body": "We are on it.", "status": Status.PENDING_CUSTOMER, "attachments": [upload]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="ticket-page"' in body and "<html" not in body  # the HTMX fragment
    assert "We are on it." in body
    message = Message.objects.get(ticket=ticket, body_text="We are on it.")
    assert message.kind == Message.Kind.PUBLIC and message.author == desk.agent1
    assert message.attachments.get().filename == "screen.png"
    assert AuditEntry.objects.filter(ticket=ticket, action="replied", actor=desk.agent1).exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING_CUSTOMER


def test_note_without_htmx_redirects_back(desk: Any) -> None:
    ticket = new_ticket(desk)
    response = client_for(desk.agent1).post(action_url(ticket, "note"), {"body": "Internal"})
    assert response.status_code == 302 and response["Location"] == desk_url(ticket)
    assert Message.objects.get(ticket=ticket, kind="internal").body_text == "Internal"


def test_escalate_requires_a_hand_off_note(desk: Any) -> None:
    ticket = new_ticket(desk)
    client = client_for(desk.agent1)
    refused = client.post(action_url(ticket, "escalate"), {"note": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    assert "alert-error" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.team == desk.l1
    done = client.post(
        action_url(ticket, "escalate"), {"note": "Needs a DB fix"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 200
    ticket.refresh_from_db()
    assert ticket.team == desk.l2
    entry = AuditEntry.objects.get(ticket=ticket, action="escalated")
    assert entry.note == "Needs a DB fix" and entry.actor == desk.agent1


def test_properties_assign_transfer_link_and_merge(desk: Any) -> None:
    ticket = new_ticket(desk)
    other = new_ticket(desk, "Same printer")
    client = client_for(desk.supervisor)
    client.post(
        action_url(ticket, "properties"),
        {"status": Status.OPEN, "priority": "urgent", "category": "", "tags": "printer, fire"},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority_key) == (Status.OPEN, "urgent")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["fire", "printer"]

    client.post(action_url(ticket, "assign_me"))
    ticket.refresh_from_db()
    assert ticket.assignee == desk.supervisor

    client.post(action_url(ticket, "transfer"), {"team": desk.finance_team.pk, "note": "Billing"})
    ticket.refresh_from_db()
    assert ticket.team == desk.finance_team

    client.post(action_url(ticket, "link"), {"other": other.pk, "kind": "related"})
    page = client.get(desk_url(ticket)).content.decode()
    assert f"#{other.pk} Same printer" in page

    response = client.post(action_url(other, "merge"), {"target": ticket.pk})
    assert response.status_code == 302 and response["Location"] == desk_url(ticket)
    other.refresh_from_db()
    assert other.merged_into_id == ticket.pk and other.status == Status.CLOSED


def test_action_on_invisible_other_ticket_is_an_error_not_a_leak(desk: Any) -> None:
    ticket = new_ticket(desk)
    hidden = services.ticket_create(
        actor=desk.admin,
        requester=desk.carol,
        subject="Finance only",
        body="x",
        team=desk.finance_team,
    )
    response = client_for(desk.agent1).post(
        action_url(ticket, "link"), {"other": hidden.pk, "kind": "related"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "Finance only" not in response.content.decode()
    assert not ticket.links_out.exists()


def test_csrf_is_enforced_on_desk_actions(desk: Any) -> None:
    ticket = new_ticket(desk)
    client = client_for(desk.agent1, enforce_csrf_checks=True)
    response = client.post(action_url(ticket, "reply"), {"body": "No token"})
    assert response.status_code == 403
    assert not Message.objects.filter(body_text="No token").exists()
    page = client.get(desk_url(ticket))
    token = page.cookies["csrftoken"].value
    accepted = client.post(
        action_url(ticket, "reply"), {"body": "With token", "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    assert Message.objects.filter(body_text="With token").exists()


def test_attachment_download_is_scoped(desk: Any) -> None:
    ticket = new_ticket(desk, attachments=[services.AttachmentIn("log.txt", "text/plain", b"boom")])
    attachment = ticket.messages.get().attachments.get()
    url = reverse("tickets:attachment", args=[attachment.pk])
    response = client_for(desk.agent1).get(url)
    assert response.status_code == 200
    assert response.getvalue() == b"boom"
    assert client_for(desk.carol).get(url).status_code == 404
    assert client_for(desk.bob).get(url).status_code == 200


# --- query budgets --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 50])
def test_queue_page_query_budget(desk: Any, count: int, django_assert_max_num_queries: Any) -> None:
    for index in range(count):
        ticket = new_ticket(desk, f"Load {index}", actor=desk.bob if index % 2 else desk.alice)
        services.ticket_update(actor=desk.agent1, ticket=ticket, tags=["load", f"t{index % 3}"])
    client = client_for(desk.supervisor)
    url = reverse("tickets:desk") + "?view=all"
    client.get(url)  # warm the session
    # session, user, saved views, tickets, tags (filter and bulk forms load on demand),
    # the viewer's availability (the header's switch)
    with django_assert_max_num_queries(6):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("data-ticket=") == min(count, 25)


@pytest.mark.parametrize("count", [5, 50])
def test_ticket_page_query_budget(
    desk: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    ticket = new_ticket(desk, attachments=[services.AttachmentIn("a.txt", "text/plain", b"a")])
    for index in range(count):
        if index % 2:
            services.ticket_add_note(actor=desk.agent1, ticket=ticket, body=f"note {index}")
        else:
            services.ticket_reply(actor=desk.agent1, ticket=ticket, body=f"reply {index}")
    for index in range(3):
        new_ticket(desk, f"Other {index}")
    services.ticket_assign(actor=desk.agent1, ticket=ticket, assignee=desk.agent1)
    client = client_for(desk.agent1)
    client.get(desk_url(ticket))
    with django_assert_max_num_queries(22):
        response = client.get(desk_url(ticket))
    assert response.content.decode().count('class="msg') == count + 1


def test_assign_to_an_agent_of_the_team(desk: Any) -> None:
    ticket = new_ticket(desk)
    services.ticket_transfer(actor=desk.admin, ticket=ticket, team=desk.l2)
    client = client_for(desk.supervisor)
    page = client.get(desk_url(ticket)).content.decode()
    assert 'id="assign-assignee"' in page and "Ivan Second" in page
    response = client.post(
        action_url(ticket, "assign"), {"assignee": desk.agent2.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee == desk.agent2
    entry = AuditEntry.objects.get(ticket=ticket, action="assigned")
    assert entry.actor == desk.supervisor and entry.after == desk.agent2.pk
    # an agent outside the ticket's team is refused with the reason, not a 500
    refused = client.post(
        action_url(ticket, "assign"), {"assignee": desk.finance.pk}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 422 and "not a member" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee == desk.agent2
