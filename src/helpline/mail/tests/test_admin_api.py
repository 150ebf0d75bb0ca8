"""The administrators' mailbox API: CRUD, write-only secrets, HTTP secret rotation."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.core.api_testing import api_call
from helpline.mail import events, services
from helpline.mail.models import InboundEmail, Mailbox
from helpline.mail.tests.conftest import build_email

IMAP_SECRET = "imap-hunter2-secret"


def _imap_payload(desk: Any, **extra: Any) -> dict[str, Any]:
    return {
        "address": "Billing@Helpline.test",
        "name": "Billing",
        "team_id": desk.finance_team.pk,
        "way": "imap",
        "imap_host": "imap.example.net",
        "imap_username": "billing",
        "imap_secret": IMAP_SECRET,
        "processed_action": "move",
        "processed_folder": "Done",
        **extra,
    }


def test_admin_creates_reads_changes_and_deletes_a_mailbox(
    client: Any, desk: Any, capture_events: Any
) -> None:
    created = api_call(
        client, "post", "/mailboxes", user=desk.admin, json=_imap_payload(desk), expect=201
    ).json()
    assert created["address"] == "billing@helpline.test"
    assert created["team_id"] == desk.finance_team.pk
    assert created["has_imap_secret"] is True and created["has_http_secret"] is False
    assert created["messages"] == {"received": 0, "processed": 0, "rejected": 0, "failed": 0}
    mailbox = Mailbox.objects.get(pk=created["id"])
    assert mailbox.imap_secret_encrypted and IMAP_SECRET not in mailbox.imap_secret_encrypted
    from helpline.mail import secrets

    assert secrets.decrypt(mailbox.imap_secret_encrypted) == IMAP_SECRET

    listed = api_call(client, "get", "/mailboxes", user=desk.admin, expect=200)
    one = api_call(client, "get", f"/mailboxes/{mailbox.pk}", user=desk.admin, expect=200)
    for response in (listed, one):
        assert IMAP_SECRET not in response.content.decode()
        assert mailbox.imap_secret_encrypted not in response.content.decode()
    assert [row["address"] for row in listed.json()] == ["billing@helpline.test"]

    patched = api_call(
        client,
        "patch",
        f"/mailboxes/{mailbox.pk}",
        user=desk.admin,
        json={"team_id": None, "name": "Invoices", "imap_secret": ""},
        expect=200,
    ).json()
    assert (patched["team_id"], patched["name"], patched["has_imap_secret"]) == (
        None,
        "Invoices",
        False,
    )
    assert patched["imap_host"] == "imap.example.net"

    api_call(client, "delete", f"/mailboxes/{mailbox.pk}", user=desk.admin, expect=204)
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert capture_events.types == ["mailbox.created", "mailbox.updated", "mailbox.deleted"]
    changes = capture_events.of(events.MailboxUpdated)[0]["changes"]
    assert changes["team"] == [desk.finance_team.pk, None]
    assert changes["imap_secret"] == ["", ""]
    assert IMAP_SECRET not in str(capture_events.records()[0].payload)
    assert capture_events.records()[0].actor_id == desk.admin.pk


def test_a_mailbox_with_mail_is_deactivated_not_deleted(
    client: Any, desk: Any, mailbox: Any
) -> None:
    services.store_raw(mailbox=mailbox, raw=build_email(), source="test")
    body = api_call(client, "delete", f"/mailboxes/{mailbox.pk}", user=desk.admin, expect=200)
    assert body.json()["is_active"] is False
    assert body.json()["messages"]["received"] == 1
    mailbox.refresh_from_db()
    assert mailbox.is_active is False
    assert InboundEmail.objects.filter(mailbox=mailbox).count() == 1


def test_rotating_the_http_secret_shows_it_once(
    client: Any, desk: Any, mailbox: Any, capture_events: Any
) -> None:
    path = f"/mailboxes/{mailbox.pk}/http-secret"
    response = api_call(client, "post", path, user=desk.admin, expect=201)
    secret = response.json()["secret"]
    assert response["Cache-Control"] == "no-store"
    mailbox.refresh_from_db()
    assert services.mailbox_secret_matches(mailbox, secret)
    assert secret not in mailbox.http_secret_digest
    shown = api_call(client, "get", f"/mailboxes/{mailbox.pk}", user=desk.admin, expect=200)
    assert shown.json()["has_http_secret"] is True
    assert secret not in shown.content.decode()
    assert mailbox.http_secret_digest not in shown.content.decode()

    newer = api_call(client, "post", path, user=desk.admin, expect=201).json()["secret"]
    mailbox.refresh_from_db()
    assert not services.mailbox_secret_matches(mailbox, secret)
    assert services.mailbox_secret_matches(mailbox, newer)
    assert capture_events.types == ["mailbox.http_secret_rotated"] * 2
    assert secret not in str([record.payload for record in capture_events.records()])


@pytest.mark.parametrize("who", ["supervisor", "agent1", "alice", None])
def test_only_admins_manage_mailboxes(client: Any, desk: Any, mailbox: Any, who: Any) -> None:
    user = getattr(desk, who) if who else None
    refused = 401 if user is None else 403
    base = f"/mailboxes/{mailbox.pk}"
    api_call(client, "get", "/mailboxes", user=user, expect=refused)
    api_call(client, "get", base, user=user, expect=refused)
    api_call(
        client,
        "post",
        "/mailboxes",
        user=user,
        json={"address": "x@helpline.test"},
        expect=refused,
    )
    api_call(client, "patch", base, user=user, json={"name": "X"}, expect=refused)
    api_call(client, "delete", base, user=user, expect=refused)
    api_call(client, "post", f"{base}/http-secret", user=user, expect=refused)
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.http_secret_digest, mailbox.is_active) == ("", "", True)
    assert Mailbox.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"address": "not an address"}, "address"),
        ({"address": "support@helpline.test"}, "address"),
        ({"address": "a@helpline.test", "way": "pigeon"}, "way"),
        ({"address": "a@helpline.test", "way": "imap"}, "imap_host"),
        ({"address": "a@helpline.test", "imap_port": 70000}, "imap_port"),
        ({"address": "a@helpline.test", "processed_action": "move"}, "processed_folder"),
        ({"address": "a@helpline.test", "team_id": 999999}, "team_id"),
        ({"address": "a@helpline.test", "category_id": 999999}, "category_id"),
        ({"address": "a@helpline.test", "imap_password": "x"}, "imap_password"),
        ({}, "address"),
    ],
)
def test_bad_payloads_are_422_with_the_field(
    client: Any, desk: Any, mailbox: Any, payload: dict[str, Any], field: str
) -> None:
    body = api_call(client, "post", "/mailboxes", user=desk.admin, json=payload, expect=422).json()
    assert field in body["error"]["fields"], body
    assert Mailbox.objects.count() == 1


def test_bad_patches_are_422_and_change_nothing(client: Any, desk: Any, mailbox: Any) -> None:
    path = f"/mailboxes/{mailbox.pk}"
    for payload, field in (
        ({"is_active": None}, "is_active"),
        ({"way": "imap"}, "imap_host"),
        ({"address": ""}, "address"),
    ):
        body = api_call(client, "patch", path, user=desk.admin, json=payload, expect=422).json()
        assert field in body["error"]["fields"], body
    mailbox.refresh_from_db()
    assert (mailbox.way, mailbox.address, mailbox.is_active) == (
        "intake",
        "support@helpline.test",
        True,
    )
    api_call(client, "get", "/mailboxes/999999", user=desk.admin, expect=404)
    api_call(client, "patch", "/mailboxes/999999", user=desk.admin, json={}, expect=404)
