"""Bad input to the ticket API: every failure is a 4xx in the one error shape
(`{"error": {"code", "message", "fields"}}`, checked against the OpenAPI document)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from helpline.core.api_testing import api_call, assert_matches_schema
from helpline.integrations import services as tokens
from helpline.integrations.models import ApiToken
from helpline.tickets import services
from helpline.tickets.models import Attachment, Status, Ticket

TICKETS = "/api/v1/tickets"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ticket(desk):
    return services.ticket_create(actor=desk.alice, subject="Printer on fire", body="Smoke.")


@pytest.fixture
def agent(client, desk):
    client.force_login(desk.agent1)
    return client


def error(response):
    return response.json()["error"]


# --- malformed requests -------------------------------------------------------------------


def test_invalid_json(agent, ticket):
    response = agent.post(TICKETS, data='{"subject": "x",', content_type="application/json")
    assert response.status_code == 400
    assert_matches_schema("post", TICKETS, response)
    assert error(response)["code"] == "invalid_json"


def test_json_body_must_be_sent_as_json(agent, ticket):
    response = agent.post(
        f"{TICKETS}/{ticket.pk}/notes", data='{"body": "x"}', content_type="text/plain"
    )
    assert response.status_code == 415
    assert_matches_schema("post", f"{TICKETS}/{ticket.pk}/notes", response)
    assert error(response)["code"] == "unsupported_media_type"


def test_oversized_body(agent, ticket, settings):
    settings.HELPLINE_MAX_JSON_BYTES = 1000
    response = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/notes", json={"body": "x" * 2000}, expect=413
    )
    assert error(response)["code"] == "payload_too_large"
    assert ticket.messages.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": 5, "body": "x", "requester_id": 1}, "subject"),
        ({"subject": "x", "body": "x", "requester_id": "alice"}, "requester_id"),
        ({"subject": "x", "body": "x", "tags": "vip"}, "tags"),
        ({"subject": "x", "body": "x", "priority": "critical"}, "priority"),
        ({"subject": "x", "body": "x", "channel": "fax"}, "channel"),
        ({"subject": "x" * 251, "body": "x"}, "subject"),
        ({"body": "no subject"}, "subject"),
        ({"subject": "x", "body": "x", "custom_fields": ["a"]}, "custom_fields"),
    ],
)
def test_wrong_types_on_create(agent, desk, body, field):
    response = api_call(agent, "post", TICKETS, json=body, expect=422)
    assert error(response)["code"] == "validation_error"
    assert field in error(response)["fields"]
    assert not Ticket.objects.exists()


def test_body_must_be_an_object(agent):
    response = api_call(agent, "post", TICKETS, json=["subject"], expect=422)
    assert error(response)["code"] == "validation_error"


UNKNOWN_FIELD_BODIES = [
    ("post", "", {"subject": "x", "body": "y"}),
    ("patch", "/{id}", {"priority": "high"}),
    ("post", "/{id}/replies", {"body": "x"}),
    ("post", "/{id}/notes", {"body": "x"}),
    ("post", "/{id}/status", {"status": "open"}),
    ("post", "/{id}/assign", {"assignee_id": "me"}),
    ("post", "/{id}/transfer", {"team_id": 1}),
    ("post", "/{id}/escalate", {"note": "x"}),
    ("post", "/{id}/merge", {"into_id": 1}),
    ("post", "/{id}/links", {"other_id": 1, "kind": "related"}),
    ("post", "/{id}/watchers", {"user_id": "me"}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), UNKNOWN_FIELD_BODIES)
def test_unknown_fields_are_refused(agent, desk, ticket, method, suffix, body):
    before = ticket.audit_entries.count()
    path = TICKETS + suffix.format(id=ticket.pk)
    response = api_call(agent, method, path, json={**body, "assignee": 3}, expect=422)
    assert error(response)["fields"] == {"assignee": "Extra inputs are not permitted"}
    assert ticket.audit_entries.count() == before


def test_both_requester_id_and_email(agent, desk):
    response = api_call(
        agent,
        "post",
        TICKETS,
        json={
            "subject": "x",
            "body": "y",
            "requester_id": desk.alice.pk,
            "requester_email": "a@b.c",
        },
        expect=422,
    )
    assert error(response)["fields"] == {"requester_email": "conflicts_with_requester_id"}


def test_unknown_references_are_422(agent, desk, ticket):
    cases = [
        ("post", TICKETS, {"subject": "x", "body": "y", "requester_id": 999_999}, "requester_id"),
        (
            "post",
            TICKETS,
            {"subject": "x", "body": "y", "requester_id": desk.alice.pk, "category_id": 999_999},
            "category_id",
        ),
        ("post", f"{TICKETS}/{ticket.pk}/transfer", {"team_id": 999_999}, "team_id"),
        ("post", f"{TICKETS}/{ticket.pk}/merge", {"into_id": 999_999}, "into_id"),
        (
            "post",
            f"{TICKETS}/{ticket.pk}/links",
            {"other_id": 999_999, "kind": "related"},
            "other_id",
        ),
        ("post", f"{TICKETS}/{ticket.pk}/assign", {"assignee_id": 999_999}, "assignee_id"),
    ]
    for method, path, body, field in cases:
        response = api_call(agent, method, path, json=body, expect=422)
        assert error(response)["fields"] == {field: "not_found"}, path


def test_another_ticket_the_caller_cannot_see_is_unknown(agent, desk, ticket):
    # the other ticket exists but is in L2, out of agent1's sight: same answer as missing
    hidden = services.ticket_create(
        actor=desk.admin, requester=desk.dave, subject="L2", body="x", team=desk.l2
    )
    response = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/merge", json={"into_id": hidden.pk}, expect=422
    )
    assert error(response)["fields"] == {"into_id": "not_found"}


def test_merge_into_itself(agent, ticket):
    response = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/merge", json={"into_id": ticket.pk}, expect=422
    )
    assert error(response)["fields"] == {"target": "same"}


def test_assignee_must_be_an_agent(agent, desk, ticket):
    response = api_call(
        agent,
        "post",
        f"{TICKETS}/{ticket.pk}/assign",
        json={"assignee_id": desk.alice.pk},
        expect=422,
    )
    assert error(response)["fields"] == {"assignee": "not_agent"}


def test_non_numeric_ticket_id_is_not_found(agent):
    response = api_call(agent, "get", f"{TICKETS}/abc", expect=404)
    assert error(response)["code"] == "not_found"


# --- the status machine and escalation ----------------------------------------------------


def test_invalid_status_transition(agent, desk, ticket):
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.SOLVED)
    response = api_call(
        agent,
        "post",
        f"{TICKETS}/{ticket.pk}/status",
        json={"status": "pending_customer"},
        expect=409,
    )
    assert error(response)["code"] == "invalid_transition"
    assert error(response)["fields"] == {"status": "solved -> pending_customer not allowed"}
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_customer_may_not_put_her_ticket_on_hold(client, desk, ticket):
    for path, body in (
        (f"{TICKETS}/{ticket.pk}/status", {"status": "on_hold"}),
        (f"{TICKETS}/{ticket.pk}", {"status": "on_hold"}),
    ):
        method = "post" if path.endswith("status") else "patch"
        response = api_call(client, method, path, user=desk.alice, json=body, expect=409)
        assert error(response)["code"] == "invalid_transition"


def test_unknown_status(agent, ticket):
    response = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/status", json={"status": "done"}, expect=422
    )
    assert "status" in error(response)["fields"]


def test_reply_on_a_closed_ticket(agent, desk, ticket):
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.SOLVED)
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.CLOSED)
    response = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/replies", json={"body": "x"}, expect=409
    )
    assert error(response)["code"] == "ticket_closed"


def test_reply_with_an_invalid_status_changes_nothing(agent, desk, ticket):
    services.ticket_change_status(actor=desk.agent1, ticket=ticket, status=Status.SOLVED)
    response = api_call(
        agent,
        "post",
        f"{TICKETS}/{ticket.pk}/replies",
        json={"body": "x", "status": "on_hold"},
        expect=409,
    )
    assert error(response)["code"] == "invalid_transition"
    assert ticket.messages.count() == 1


def test_empty_reply(agent, ticket):
    response = api_call(agent, "post", f"{TICKETS}/{ticket.pk}/replies", json={}, expect=422)
    assert error(response)["fields"] == {"body": "required"}


def test_escalate_needs_a_note(agent, ticket):
    missing = api_call(agent, "post", f"{TICKETS}/{ticket.pk}/escalate", json={}, expect=422)
    assert set(error(missing)["fields"]) == {"note"}
    blank = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/escalate", json={"note": "   "}, expect=422
    )
    assert error(blank)["fields"] == {"note": "required"}
    ticket.refresh_from_db()
    assert ticket.team.name == "L1"


def test_escalate_at_the_top_line(client, desk, ticket):
    services.ticket_escalate(actor=desk.agent1, ticket=ticket, note="to L2")
    response = api_call(
        client,
        "post",
        f"{TICKETS}/{ticket.pk}/escalate",
        user=desk.agent2,
        json={"note": "higher?"},
        expect=409,
    )
    assert error(response)["code"] == "top_line"


def test_transfer_to_the_same_team(agent, desk, ticket):
    response = api_call(
        agent, "post", f"{TICKETS}/{ticket.pk}/transfer", json={"team_id": desk.l1.pk}, expect=409
    )
    assert error(response)["code"] == "same_team"


# --- pagination parameters ----------------------------------------------------------------


def test_bad_cursor_and_limit(agent, ticket):
    bad = api_call(agent, "get", TICKETS, query={"cursor": "not-a-cursor"}, expect=400)
    assert error(bad)["code"] == "invalid_cursor"
    services.ticket_create(actor=ticket.requester, subject="second", body="x")
    page = api_call(agent, "get", TICKETS, query={"limit": 1, "sort": "id"}, expect=200).json()
    other_sort = api_call(
        agent, "get", TICKETS, query={"cursor": page["next_cursor"], "sort": "-id"}, expect=422
    )
    assert "sort" in " ".join(error(other_sort)["fields"])
    reused = api_call(
        agent,
        "get",
        TICKETS,
        query={"cursor": page["next_cursor"], "sort": "created_at"},
        expect=400,
    )
    assert error(reused)["code"] == "invalid_cursor"
    too_many = api_call(agent, "get", TICKETS, query={"limit": 201}, expect=422)
    assert error(too_many)["code"] == "validation_error"


# --- tokens -------------------------------------------------------------------------------


def test_expired_and_revoked_tokens(client, desk, ticket):
    token, secret = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="ci", scopes=["tickets:read"]
    )
    path = f"{TICKETS}/{ticket.pk}"
    api_call(Client(), "get", path, token=secret, expect=200)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = api_call(Client(), "get", path, token=secret, expect=401)
    assert error(expired)["code"] == "authentication_failed"
    other, other_secret = tokens.token_create(
        actor=desk.agent1, user=desk.agent1, name="ci2", scopes=["tickets:read"]
    )
    tokens.token_revoke(actor=desk.agent1, token=other)
    revoked = api_call(Client(), "get", path, token=other_secret, expect=401)
    assert error(revoked)["code"] == "authentication_failed"
    garbage = api_call(Client(), "get", path, token="hl_nope_nope", expect=401)
    assert error(garbage)["code"] == "authentication_failed"


# --- multipart upload ---------------------------------------------------------------------


def _upload(client, data, *files):
    response = client.post(f"{TICKETS}/upload", {"data": data, "files": list(files)})
    assert_matches_schema("post", f"{TICKETS}/upload", response)
    return response


def test_oversized_attachment(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.HELPLINE_MAX_ATTACHMENT_BYTES = 10
    client.force_login(desk.alice)
    response = _upload(
        client,
        '{"subject": "Big", "body": "x"}',
        SimpleUploadedFile("ok.txt", b"0123456789"),
        SimpleUploadedFile("big.bin", b"0123456789A"),
    )
    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    assert error(response)["fields"] == {"files.1": "too_large"}
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


def test_blocked_attachment_type(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(desk.alice)
    response = _upload(
        client, '{"subject": "x", "body": "x"}', SimpleUploadedFile("run.EXE", b"MZ")
    )
    assert response.status_code == 422
    assert error(response)["fields"] == {"attachments.0": "blocked_type"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ('{"subject": "x",', "data"),
        ('{"subject": "x", "body": "y", "bogus": 1}', "data.bogus"),
        ('{"subject": 1, "body": "y"}', "data.subject"),
    ],
)
def test_upload_data_is_validated_like_the_json_body(client, desk, settings, tmp_path, data, field):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(desk.alice)
    response = _upload(client, data, SimpleUploadedFile("a.txt", b"a"))
    assert response.status_code == 422
    assert error(response)["code"] == "validation_error"
    assert list(error(response)["fields"]) == [field]
    assert not Ticket.objects.exists()


def test_upload_needs_files(client, desk):
    client.force_login(desk.alice)
    response = client.post(f"{TICKETS}/upload", {"data": '{"subject": "x", "body": "y"}'})
    assert response.status_code == 422
    assert_matches_schema("post", f"{TICKETS}/upload", response)
    assert "files" in error(response)["fields"]
