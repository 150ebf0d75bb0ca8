"""The portal's permission matrix, requests from visitors, follow links and CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from helpline.accounts import selfservice
from helpline.accounts import services as accounts
from helpline.accounts.models import User
from helpline.core.testing import PASSWORD
from helpline.tickets import services
from helpline.tickets.models import Message, Status, Ticket
from helpline.tickets.services import AttachmentIn

pytestmark = pytest.mark.django_db


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.email, password=PASSWORD)
    return client


def request_url(ticket: Ticket) -> str:
    return reverse("tickets:portal_request", args=[ticket.pk])


def follow_path(ticket: Ticket) -> str:
    return reverse("tickets:portal_follow", args=[ticket.pk, selfservice.follow_token(ticket)])


@pytest.fixture
def ticket(desk: Any) -> Ticket:
    return services.ticket_create(actor=desk.alice, subject="Printer on fire", body="Help!")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("alice", 200),  # the requester
        ("bob", 200),  # same organization, which shares its requests
        ("carol", 404),  # another organization
        ("dave", 404),  # no organization
        ("agent1", 302),  # agents are sent to the desk
    ],
)
def test_request_page_permission_matrix(desk: Any, ticket: Ticket, who: str, expected: int) -> None:
    client = Client() if who == "anonymous" else client_for(getattr(desk, who))
    response = client.get(request_url(ticket))
    assert response.status_code == expected
    if who == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))
    if who == "agent1":
        assert response["Location"] == reverse("tickets:desk_ticket", args=[ticket.pk])
    if expected == 200:
        assert "Printer on fire" in response.content.decode()


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_other_customers_cannot_act_on_a_request(desk: Any, ticket: Ticket, who: str) -> None:
    client = client_for(getattr(desk, who))
    assert client.post(request_url(ticket), {"body": "me too"}).status_code == 404
    status_url = reverse("tickets:portal_status", args=[ticket.pk])
    assert client.post(status_url, {"status": "solved"}).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.messages.count() == 1


def test_organization_that_does_not_share_hides_colleagues_requests(
    desk: Any, ticket: Ticket
) -> None:
    accounts.organization_update(
        actor=desk.admin, organization=desk.acme, members_see_all_tickets=False
    )
    client = client_for(desk.bob)
    assert client.get(request_url(ticket)).status_code == 404
    body = client.get(reverse("tickets:portal")).content.decode()
    assert "Printer on fire" not in body and "scope=all" not in body


def test_user_not_allowed_to_see_the_organizations_requests(desk: Any, ticket: Ticket) -> None:
    User.objects.filter(pk=desk.bob.pk).update(see_organization_tickets=False)
    assert client_for(desk.bob).get(request_url(ticket)).status_code == 404


def test_list_scopes_mine_and_the_organizations(desk: Any, ticket: Ticket) -> None:
    services.ticket_create(actor=desk.bob, subject="Bob's own request", body="Hi")
    client = client_for(desk.bob)
    everything = client.get(reverse("tickets:portal")).content.decode()
    assert "Printer on fire" in everything and "Bob&#x27;s own request" in everything
    assert "Requests of Acme" in everything
    mine = client.get(reverse("tickets:portal") + "?scope=mine").content.decode()
    assert "Printer on fire" not in mine and "Bob&#x27;s own request" in mine


def test_customer_closes_and_reopens_through_the_customer_transitions(
    desk: Any, ticket: Ticket
) -> None:
    client = client_for(desk.bob)
    status_url = reverse("tickets:portal_status", args=[ticket.pk])
    client.post(status_url, {"status": "solved"})
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    client.post(status_url, {"status": "open"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert client.post(status_url, {"status": "closed"}).status_code == 404


def test_closed_request_has_no_reply_box_and_refuses_replies(desk: Any, ticket: Ticket) -> None:
    services.ticket_change_status(actor=desk.admin, ticket=ticket, status=Status.SOLVED)
    services.ticket_change_status(actor=desk.admin, ticket=ticket, status=Status.CLOSED)
    client = client_for(desk.alice)
    page = client.get(request_url(ticket)).content.decode()
    assert "This request is closed." in page and "Send reply" not in page
    refused = client.post(request_url(ticket), {"body": "Hello?"})
    assert "This ticket is closed." in refused.content.decode()
    assert ticket.messages.count() == 1


# --- visitors ---------------------------------------------------------------------------


def visitor_post(client: Client, commit: Any, **data: Any) -> Any:
    payload = {"subject": "Cannot pay", "description": "The card is refused.", **data}
    with commit():
        return client.post(reverse("tickets:portal_new"), payload)


def follow_mails(address: str) -> list[Any]:
    """The e-mails with a follow link sent to `address` (other apps may notify too)."""
    return [m for m in mail.outbox if m.to == [address] and "/follow/" in str(m.body)]


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_visitor_must_give_a_contact_address(desk: Any, commit: Any) -> None:
    response = visitor_post(Client(), commit)
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()
    assert "errorlist" in response.content.decode()
    assert not Ticket.objects.filter(subject="Cannot pay").exists()


def test_visitor_request_creates_the_customer_and_mails_a_follow_link(
    desk: Any, commit: Any
) -> None:
    # Given a visitor who writes from an Acme address, with an attachment
    upload = SimpleUploadedFile("card.png", b"\x89PNG....", content_type="image/png")
    response = visitor_post(
        Client(), commit, email="Zoe@Acme.test", name="Zoe", attachments=[upload]
    )
    assert response.status_code == 200
    assert "is received" in response.content.decode()
    # Then a customer is created (matched to Acme by domain) and owns the request
    ticket = Ticket.objects.get(subject="Cannot pay")
    zoe = User.objects.get(email="zoe@acme.test")
    assert ticket.requester == zoe and ticket.organization == desk.acme
    assert not zoe.has_usable_password()
    # And the contact address receives a link that opens the request without a password
    (message,) = follow_mails(zoe.email)
    assert f"#{ticket.pk}" in message.subject
    path = "/" + re.findall(r"https?://\S+/follow/\S+", str(message.body))[0].split("/", 3)[3]
    visitor = Client()
    page = visitor.get(path).content.decode()
    assert "The card is refused." in page and "card.png" in page
    attachment = ticket.messages.get().attachments.get()
    download = visitor.get(
        reverse(
            "tickets:portal_follow_attachment",
            args=[ticket.pk, selfservice.follow_token(ticket), attachment.pk],
        )
    )
    assert download.status_code == 200
    # When they reply and mark it solved through the link
    assert visitor.post(path, {"body": "Any news?"}).status_code == 302
    assert Message.objects.filter(ticket=ticket, author=zoe, body_text="Any news?").exists()
    visitor.post(path, {"status": "solved"})
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    # The link never signs anybody in
    assert "_auth_user_id" not in visitor.session


def test_visitor_with_a_known_customer_address_adds_to_their_requests(
    desk: Any, commit: Any
) -> None:
    visitor_post(Client(), commit, email=desk.carol.email)
    ticket = Ticket.objects.get(subject="Cannot pay")
    assert ticket.requester == desk.carol
    assert User.objects.filter(email=desk.carol.email).count() == 1


def test_visitor_cannot_use_a_desk_address(desk: Any, commit: Any) -> None:
    response = visitor_post(Client(), commit, email=desk.agent1.email)
    assert "This address belongs to a desk account." in response.content.decode()
    assert not Ticket.objects.filter(subject="Cannot pay").exists()


def test_visitor_requests_are_rate_limited(desk: Any, commit: Any) -> None:
    with override_settings(HELPLINE_SIGNIN_RATE_LIMIT="2/300"):
        for _ in range(2):
            visitor_post(Client(), commit, email="flood@example.test")
        refused = visitor_post(Client(), commit, email="flood@example.test")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    assert Ticket.objects.filter(subject="Cannot pay").count() == 2
    assert len(follow_mails("flood@example.test")) == 2


def test_follow_link_opens_only_its_own_request(desk: Any, ticket: Ticket) -> None:
    other = services.ticket_create(actor=desk.alice, subject="Second", body="x")
    token = selfservice.follow_token(ticket)
    assert Client().get(reverse("tickets:portal_follow", args=[other.pk, token])).status_code == 404
    forged = reverse("tickets:portal_follow", args=[ticket.pk, token[:-2] + "xx"])
    assert Client().get(forged).status_code == 404
    assert Client().post(forged, {"body": "hack"}).status_code == 404
    assert Client().get(follow_path(ticket)).status_code == 200
    assert ticket.messages.count() == 1


def test_follow_page_hides_internal_notes(desk: Any, ticket: Ticket) -> None:
    services.ticket_add_note(actor=desk.agent1, ticket=ticket, body="Secret note")
    services.ticket_reply(actor=desk.agent1, ticket=ticket, body="Public answer")
    page = Client().get(follow_path(ticket)).content.decode()
    assert "Public answer" in page and "Secret note" not in page


# --- CSRF ---------------------------------------------------------------------------------


def test_portal_posts_enforce_csrf(desk: Any, ticket: Ticket) -> None:
    signed_in = client_for(desk.alice, enforce_csrf_checks=True)
    anonymous = Client(enforce_csrf_checks=True)
    status_url = reverse("tickets:portal_status", args=[ticket.pk])
    data = {"subject": "s", "description": "d", "email": "x@example.test"}
    assert signed_in.post(reverse("tickets:portal_new"), data).status_code == 403
    assert anonymous.post(reverse("tickets:portal_new"), data).status_code == 403
    assert signed_in.post(request_url(ticket), {"body": "hi"}).status_code == 403
    assert signed_in.post(status_url, {"status": "solved"}).status_code == 403
    assert anonymous.post(follow_path(ticket), {"body": "hi"}).status_code == 403
    ticket.refresh_from_db()
    assert ticket.messages.count() == 1 and ticket.status == Status.NEW
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("count", [3, 30])
def test_follow_page_query_budget(
    desk: Any, ticket: Ticket, count: int, django_assert_max_num_queries: Any
) -> None:
    for index in range(count):
        services.ticket_reply(
            actor=desk.agent1,
            ticket=ticket,
            body=f"Answer {index}",
            attachments=[AttachmentIn(f"log{index}.txt", "text/plain", b"lines")],
        )
    with django_assert_max_num_queries(8):
        response = Client().get(follow_path(ticket))
    assert response.content.decode().count('class="msg') == count + 1


@pytest.mark.parametrize(
    ("who", "status", "shows"),
    [
        ("anonymous", 200, "How can we help?"),
        ("alice", 200, "Printer on fire"),
        ("bob", 200, "Printer on fire"),
        ("carol", 200, "No requests here."),
        ("agent1", 302, None),
    ],
)
def test_portal_home_matrix(
    desk: Any, ticket: Ticket, who: str, status: int, shows: str | None
) -> None:
    client = Client() if who == "anonymous" else client_for(getattr(desk, who))
    response = client.get(reverse("tickets:portal"))
    assert response.status_code == status
    if shows is None:
        assert response["Location"] == reverse("tickets:desk")
    else:
        body = response.content.decode()
        assert shows in body
        if who in ("anonymous", "carol"):
            assert "Printer on fire" not in body


@pytest.mark.parametrize(
    ("who", "status", "asks_for_email"),
    [("anonymous", 200, True), ("alice", 200, False), ("agent1", 302, None)],
)
def test_new_request_page_matrix(
    desk: Any, who: str, status: int, asks_for_email: bool | None
) -> None:
    client = Client() if who == "anonymous" else client_for(getattr(desk, who))
    response = client.get(reverse("tickets:portal_new"))
    assert response.status_code == status
    if asks_for_email is None:
        assert response["Location"] == reverse("tickets:desk")
    else:
        assert ('name="email"' in response.content.decode()) is asks_for_email


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("alice", 200), ("bob", 200), ("carol", 404), ("agent1", 200)],
)
def test_attachment_download_matrix(desk: Any, who: str, status: int) -> None:
    ticket = services.ticket_create(
        actor=desk.alice,
        subject="With a file",
        body="See attached.",
        attachments=[AttachmentIn("photo.jpg", "image/jpeg", b"\xff\xd8\xff")],
    )
    attachment = ticket.messages.get().attachments.get()
    client = Client() if who == "anonymous" else client_for(getattr(desk, who))
    response = client.get(reverse("tickets:attachment", args=[attachment.pk]))
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == b"\xff\xd8\xff"  # type: ignore[attr-defined]
