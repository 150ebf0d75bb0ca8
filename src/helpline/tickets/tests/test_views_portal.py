"""The customer portal: my requests, submitting, the request page, reply, solve, reopen."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpline.core.testing import PASSWORD
from helpline.tickets import catalog, services
from helpline.tickets.models import Message, Status, Ticket

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def new_ticket(actor: Any, subject: str = "Cannot log in") -> Any:
    return services.ticket_create(actor=actor, subject=subject, body="It says no.")


def request_url(ticket: Ticket) -> str:
    return reverse("tickets:portal_request", args=[ticket.pk])


def test_anonymous_is_sent_to_sign_in_for_a_request(desk: Any) -> None:
    ticket = new_ticket(desk.alice)
    status_url = reverse("tickets:portal_status", args=[ticket.pk])
    for response in (Client().get(request_url(ticket)), Client().post(status_url)):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_anonymous_home_is_the_welcome_page(desk: Any) -> None:
    body = Client().get(reverse("tickets:portal")).content.decode()
    assert "How can we help?" in body
    assert reverse("accounts:signup") in body and reverse("tickets:portal_new") in body


def test_my_requests_include_the_organizations_when_allowed(desk: Any) -> None:
    # Given requests by Alice and Bob (both Acme) and Carol (Globex)
    new_ticket(desk.alice, "Alice request")
    new_ticket(desk.bob, "Bob request")
    new_ticket(desk.carol, "Carol request")
    # When Alice opens her portal, then she sees Acme's requests, not Globex's
    body = client_for(desk.alice).get(reverse("tickets:portal")).content.decode()
    assert "Alice request" in body and "Bob request" in body
    assert "Carol request" not in body
    carol = client_for(desk.carol).get(reverse("tickets:portal")).content.decode()
    assert "Carol request" in carol and "Alice request" not in carol


def test_staff_are_sent_to_the_desk(desk: Any) -> None:
    ticket = new_ticket(desk.alice)
    client = client_for(desk.agent1)
    assert client.get(reverse("tickets:portal"))["Location"] == reverse("tickets:desk")
    assert client.get(request_url(ticket))["Location"] == reverse(
        "tickets:desk_ticket", args=[ticket.pk]
    )


def test_submit_a_request_with_category_and_attachment(desk: Any) -> None:
    category = catalog.category_create(actor=desk.admin, name="Billing")
    client = client_for(desk.dave)
    form = client.get(reverse("tickets:portal_new"))
    assert "Billing" in form.content.decode()
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = client.post(
        reverse("tickets:portal_new"),
        {
            "subject": "Wrong invoice",
            "description": "I was charged twice.",
            "category": str(category.pk),
            "attachments": [upload],
        },
    )
    ticket = Ticket.objects.get(subject="Wrong invoice")
    assert response.status_code == 302 and response["Location"] == request_url(ticket)
    assert ticket.requester == desk.dave and ticket.category == category
    assert ticket.messages.get().attachments.get().filename == "invoice.pdf"
    page = client.get(request_url(ticket)).content.decode()
    assert "I was charged twice." in page and "invoice.pdf" in page


def test_submit_rejects_a_blocked_file_type(desk: Any) -> None:
    upload = SimpleUploadedFile("tool.exe", b"MZ", content_type="application/octet-stream")
    response = client_for(desk.dave).post(
        reverse("tickets:portal_new"),
        {"subject": "Try this", "description": "See file.", "attachments": [upload]},
    )
    assert response.status_code == 200
    assert "Files of this type are not accepted." in response.content.decode()
    assert not Ticket.objects.filter(subject="Try this").exists()


def test_request_page_hides_internal_notes(desk: Any) -> None:
    ticket = new_ticket(desk.alice)
    services.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Customer is grumpy")
    services.ticket_reply(actor=desk.agent1, ticket=ticket, body="Try resetting it.")
    body = client_for(desk.alice).get(request_url(ticket)).content.decode()
    assert "Try resetting it." in body
    assert "Customer is grumpy" not in body


def test_another_organizations_request_is_404(desk: Any) -> None:
    ticket = new_ticket(desk.alice)
    client = client_for(desk.carol)
    assert client.get(request_url(ticket)).status_code == 404
    assert client.post(request_url(ticket), {"body": "hi"}).status_code == 404
    status_url = reverse("tickets:portal_status", args=[ticket.pk])
    assert client.post(status_url, {"status": "solved"}).status_code == 404
    assert not Message.objects.filter(ticket=ticket, author=desk.carol).exists()
    assert client_for(desk.dave).get(request_url(ticket)).status_code == 404
    assert client_for(desk.bob).get(request_url(ticket)).status_code == 200


def test_reply_solve_and_reopen(desk: Any) -> None:
    ticket = new_ticket(desk.alice)
    client = client_for(desk.alice)
    response = client.post(request_url(ticket), {"body": "More details here."})
    assert response.status_code == 302
    assert Message.objects.filter(ticket=ticket, body_text="More details here.").exists()
    status_url = reverse("tickets:portal_status", args=[ticket.pk])
    client.post(status_url, {"status": "solved"})
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    page = client.get(request_url(ticket)).content.decode()
    assert "Reopen" in page and "Mark as solved" not in page
    client.post(status_url, {"status": "open"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_empty_reply_shows_an_error(desk: Any) -> None:
    ticket = new_ticket(desk.alice)
    response = client_for(desk.alice).post(request_url(ticket), {"body": "  "})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert ticket.messages.count() == 1


@pytest.mark.parametrize("count", [5, 50])
def test_portal_query_budget(desk: Any, count: int, django_assert_max_num_queries: Any) -> None:
    # Given `count` requests of Alice's organization and `count` replies on one of them
    ticket = new_ticket(desk.alice)
    for index in range(count):
        new_ticket(desk.bob if index % 2 else desk.alice, f"Request {index}")
        services.ticket_reply(actor=desk.agent1, ticket=ticket, body=f"Answer {index}")
    client = client_for(desk.alice)
    client.get(reverse("tickets:portal"))
    # Then the list and the request page cost the same number of queries
    with django_assert_max_num_queries(6):
        assert client.get(reverse("tickets:portal")).status_code == 200
    with django_assert_max_num_queries(9):
        response = client.get(request_url(ticket))
    assert response.content.decode().count('class="msg') == count + 1
