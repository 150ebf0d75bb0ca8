"""API: deliveries of a ticket (agents, 404 like the ticket), my notification switches,
sender identities (administrators; the password is write-only)."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.core.api_testing import api_call
from helpline.notifications.models import (
    Kind,
    NotificationPreference,
    OutboundEmail,
    SenderIdentity,
)
from helpline.tickets import services as tickets
from helpline.tickets.models import AuditEntry

pytestmark = pytest.mark.django_db


def _ticket_with_mail(desk: Any, committed: Any, *, team: Any = None) -> Any:
    with committed():
        ticket = tickets.ticket_create(
            actor=desk.agent1, requester=desk.alice, subject="Mouse", body="Dead", team=team
        )
    with committed():
        tickets.ticket_reply(actor=desk.agent1, ticket=ticket, body="New batteries?")
    return ticket


def test_agent_sees_deliveries_with_their_state(
    client: Any, desk: Any, smtp_peer: Any, committed: Any
) -> None:
    ticket = _ticket_with_mail(desk, committed)
    reply = ticket.messages.order_by("id").last()

    body = api_call(
        client, "get", f"/tickets/{ticket.pk}/deliveries", user=desk.agent1, expect=200
    ).json()

    assert [(row["kind"], row["status"]) for row in body] == [
        ("ticket_received", "sent"),
        ("reply", "sent"),
    ]
    assert body[1]["ticket_message_id"] == reply.pk
    assert body[1]["recipients"] == ["alice@acme.test"]
    assert body[1]["attempts"] == 1
    assert body[1]["last_error"] == ""
    assert f"<{body[1]['message_id']}>" == smtp_peer.messages[1]["Message-ID"]


def test_deliveries_show_the_servers_answer_while_retrying(
    client: Any, desk: Any, smtp_peer: Any, committed: Any
) -> None:
    smtp_peer.answer_rcpt("452 4.2.2 Mailbox full")
    ticket = _ticket_with_mail(desk, committed)

    body = api_call(
        client, "get", f"/tickets/{ticket.pk}/deliveries", user=desk.supervisor, expect=200
    ).json()

    assert {row["status"] for row in body} == {"retrying"}
    assert {row["last_error"] for row in body} == {"452 4.2.2 Mailbox full"}
    assert all(row["next_attempt_at"] for row in body)


def test_deliveries_are_for_agents_who_see_the_ticket(
    client: Any, desk: Any, smtp_peer: Any, committed: Any
) -> None:
    ticket = _ticket_with_mail(desk, committed, team=desk.l1)
    path = f"/tickets/{ticket.pk}/deliveries"

    api_call(client, "get", path, user=desk.finance, expect=404)  # not in L1
    api_call(client, "get", path, user=desk.carol, expect=404)  # another customer
    api_call(client, "get", path, user=desk.alice, expect=403)  # the requester: agents only
    api_call(client, "get", "/tickets/999999/deliveries", user=desk.agent1, expect=404)
    client.logout()
    api_call(client, "get", path, expect=401)


def test_my_notification_switches(client: Any, desk: Any) -> None:
    body = api_call(client, "get", "/me/notifications", user=desk.alice, expect=200).json()
    assert body == {kind: True for kind in Kind.values}

    body = api_call(
        client,
        "put",
        "/me/notifications",
        user=desk.alice,
        json={"solved": False, "reply": False},
        expect=200,
    ).json()
    assert body["solved"] is False and body["reply"] is False
    assert body["ticket_received"] is True
    assert set(
        NotificationPreference.objects.filter(user=desk.alice, enabled=False).values_list(
            "kind", flat=True
        )
    ) == {"solved", "reply"}
    assert not NotificationPreference.objects.filter(user=desk.bob).exists()

    api_call(client, "put", "/me/notifications", user=desk.alice, json={"solved": True}, expect=200)
    body = api_call(client, "get", "/me/notifications", user=desk.alice, expect=200).json()
    assert (body["solved"], body["reply"]) == (True, False)

    api_call(client, "put", "/me/notifications", user=desk.alice, json={"bogus": 1}, expect=422)
    client.logout()
    api_call(client, "get", "/me/notifications", expect=401)


def test_admin_manages_sender_identities_password_write_only(client: Any, desk: Any) -> None:
    created = api_call(
        client,
        "post",
        "/sender-identities",
        user=desk.admin,
        json={
            "name": "Billing",
            "address": "Billing@Support.example",
            "team_id": desk.finance_team.pk,
            "host": "smtp.example.net",
            "port": 465,
            "security": "ssl",
            "username": "billing",
            "password": "hunter2-smtp",
            "notify_solved": False,
        },
        expect=201,
    ).json()
    assert created["address"] == "billing@support.example"
    assert created["has_password"] is True
    assert "password" not in created
    assert "hunter2" not in str(created)
    identity = SenderIdentity.objects.get(pk=created["id"])
    assert identity.password_encrypted and "hunter2" not in identity.password_encrypted
    assert identity.sends("solved") is False

    listed = api_call(client, "get", "/sender-identities", user=desk.admin, expect=200).json()
    assert "hunter2" not in str(listed)
    patched = api_call(
        client,
        "patch",
        f"/sender-identities/{identity.pk}",
        user=desk.admin,
        json={"password": "", "team_id": None, "is_default": True},
        expect=200,
    ).json()
    assert (patched["has_password"], patched["team_id"], patched["is_default"]) == (
        False,
        None,
        True,
    )
    api_call(
        client,
        "post",
        "/sender-identities",
        user=desk.admin,
        json={"name": "Bad", "address": "not an address"},
        expect=422,
    )
    api_call(
        client,
        "post",
        "/sender-identities",
        user=desk.admin,
        json={"name": "Same", "address": "billing@support.example"},
        expect=422,
    )


def test_only_admins_manage_sender_identities(client: Any, desk: Any) -> None:
    api_call(client, "get", "/sender-identities", user=desk.supervisor, expect=403)
    api_call(client, "get", "/sender-identities", user=desk.agent1, expect=403)
    api_call(
        client,
        "post",
        "/sender-identities",
        user=desk.agent1,
        json={"name": "X", "address": "x@support.example"},
        expect=403,
    )
    api_call(client, "get", "/sender-identities", user=desk.alice, expect=403)
    api_call(client, "get", "/sender-identities/12345", user=desk.admin, expect=404)


def test_agent_retries_a_failed_delivery_after_the_fix(
    client: Any, desk: Any, smtp_peer: Any, committed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    smtp_peer.answer_rcpt("550 5.7.1 Relaying denied")
    ticket = _ticket_with_mail(desk, committed)
    failed = OutboundEmail.objects.get(ticket=ticket, kind=Kind.REPLY)
    assert failed.status == OutboundEmail.Status.FAILED
    path = f"/tickets/{ticket.pk}/deliveries/{failed.pk}/retry"

    api_call(client, "post", path, user=desk.alice, expect=403)
    api_call(client, "post", path, user=desk.finance, expect=404)
    other = tickets.ticket_create(actor=desk.bob, subject="Other", body="x")
    api_call(
        client,
        "post",
        f"/tickets/{other.pk}/deliveries/{failed.pk}/retry",
        user=desk.agent1,
        expect=404,
    )

    smtp_peer.answer_rcpt("")  # the relay was fixed
    with django_capture_on_commit_callbacks(execute=True):
        api_call(client, "post", path, user=desk.agent1, expect=200)

    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (
        OutboundEmail.Status.SENT,
        2,
        "",
    )
    assert [m["Message-ID"] for m in smtp_peer.messages] == [f"<{failed.message_id}>"]
    assert AuditEntry.objects.filter(ticket=ticket, action="email_retried").count() == 1
    body = api_call(client, "post", path, user=desk.agent1, expect=200).json()
    assert body["status"] == "sent"  # a sent e-mail is not sent twice
    assert len(smtp_peer.raw) == 1
