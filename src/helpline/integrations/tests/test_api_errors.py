"""The one error shape, end to end through real endpoints (and the handlers directly)."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.test import RequestFactory, override_settings

from helpline.api import api
from helpline.core import errors
from helpline.core.api_testing import api_call

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_unauthenticated_is_401_in_the_error_shape(client):
    response = api_call(client, "get", TOKENS, expect=401)
    assert _error(response)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_route_is_a_json_404(client, desk):
    response = api_call(client, "get", "/api/v1/no/such/thing", user=desk.agent1, expect=404)
    assert _error(response)["code"] == "not_found"


def test_wrong_method_is_a_json_405(client, desk):
    response = api_call(client, "put", TOKENS, user=desk.agent1, expect=405)
    assert _error(response)["code"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}


def test_validation_errors_are_422_with_dotted_fields(client, desk):
    response = api_call(
        client,
        "post",
        TOKENS,
        user=desk.agent1,
        json={"name": "x" * 101, "scopes": []},
        expect=422,
    )
    error = _error(response)
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"name", "scopes"}


def test_query_validation_errors_name_the_parameter(client, desk):
    response = api_call(client, "get", TOKENS, user=desk.agent1, query={"limit": 201}, expect=422)
    assert set(_error(response)["fields"]) == {"limit"}


def test_unknown_fields_are_rejected(client, desk):
    response = api_call(
        client,
        "post",
        TOKENS,
        user=desk.agent1,
        json={"name": "CI", "scopes": ["tickets:read"], "admin": True},
        expect=422,
    )
    assert _error(response)["fields"] == {"admin": "Extra inputs are not permitted"}


def test_missing_body_is_422(client, desk):
    client.force_login(desk.agent1)
    response = client.post(TOKENS, content_type="application/json")
    assert response.status_code == 422
    assert _error(response)["fields"] == {"name": "Field required", "scopes": "Field required"}


def test_invalid_json_is_400(client, desk):
    client.force_login(desk.agent1)
    response = client.post(TOKENS, data=b'{"name": ', content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"


def test_wrong_content_type_is_415(client, desk):
    client.force_login(desk.agent1)
    body = json.dumps({"name": "CI", "scopes": ["tickets:read"]})
    response = client.post(TOKENS, data=body, content_type="text/plain")
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


@override_settings(HELPLINE_MAX_JSON_BYTES=100)
def test_oversized_json_body_is_413(client, desk):
    client.force_login(desk.agent1)
    body = json.dumps({"name": "x" * 200, "scopes": ["tickets:read"]})
    response = client.post(TOKENS, data=body, content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


@override_settings(HELPLINE_MAX_JSON_BYTES=10**6, DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_djangos_request_data_too_big_is_413_not_500(client, desk):
    client.force_login(desk.agent1)
    body = json.dumps({"name": "x" * 200, "scopes": ["tickets:read"]})
    response = client.post(TOKENS, data=body, content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_oversized_form_body_during_csrf_check_is_413(desk):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.agent1)
    client.cookies["csrftoken"] = "a" * 32
    # The CSRF check reads the form body, looking for csrfmiddlewaretoken
    response = client.post(
        TOKENS, data="a=" + "x" * 500, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.ValidationError("bad", fields={"a": "invalid"}), 422, "validation_error"),
        (errors.NotFound(), 404, "not_found"),
        (errors.PermissionDenied("no"), 403, "permission_denied"),
        (errors.Conflict("taken"), 409, "conflict"),
        (errors.InvalidTransition("no"), 409, "invalid_transition"),
        (errors.AuthenticationFailed("who?"), 401, "authentication_failed"),
        (errors.PayloadTooLarge("big"), 413, "payload_too_large"),
        (errors.RateLimited("slow down", retry_after=7), 429, "rate_limited"),
    ],
)
def test_domain_errors_map_to_their_status(exc, status, code):
    request = RequestFactory().get("/api/v1/x")
    response = api.on_exception(request, exc)
    assert response.status_code == status
    assert json.loads(response.content) == exc.as_dict()
    assert _error_code(response) == code
    if status == 429:
        assert response["Retry-After"] == "7"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404("secret detail"), 404, "not_found"),
        (DjangoPermissionDenied("secret detail"), 403, "permission_denied"),
    ],
)
def test_django_exceptions_map_to_the_error_shape(exc, status, code):
    response = api.on_exception(RequestFactory().get("/api/v1/x"), exc)
    assert response.status_code == status
    assert _error_code(response) == code
    assert b"secret detail" not in response.content


def _error_code(response):
    return json.loads(response.content)["error"]["code"]


def test_unexpected_errors_are_500_logged_and_do_not_leak(caplog):
    request = RequestFactory().get("/api/v1/x")
    with caplog.at_level(logging.ERROR, logger="helpline.api"):
        response = api.on_exception(request, RuntimeError("database password is hunter2"))
    assert response.status_code == 500
    assert b"hunter2" not in response.content
    assert _error_code(response) == "server_error"
    assert any("hunter2" in (r.exc_text or "") for r in caplog.records)
