"""The ASGI application (what `helpline run` serves) answers like the test client's handler:
the same API bodies and errors, pages with their cookies, with the middleware chain and the
view run in one thread hop (`helpline.core.asgi.SyncChainASGIHandler`)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.test import Client

from helpline.asgi import application, django_application
from helpline.core.asgi import SyncChainASGIHandler
from helpline.core.testing import build_desk
from helpline.integrations.services import token_create
from helpline.tickets import services


def asgi_get(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    async def call() -> dict[str, Any]:
        communicator = HttpCommunicator(
            application, "GET", path, headers=[(b"host", b"testserver"), *(headers or [])]
        )
        response: dict[str, Any] = await communicator.get_response(timeout=10)
        await communicator.wait(timeout=10)
        return response

    return async_to_sync(call)()


def test_the_middleware_chain_is_loaded_synchronously() -> None:
    assert isinstance(django_application, SyncChainASGIHandler)
    assert not inspect.iscoroutinefunction(vars(django_application)["_middleware_chain"])


@pytest.mark.django_db(transaction=True)
def test_api_requests_answer_as_through_the_test_client() -> None:
    desk = build_desk()
    ticket = services.ticket_create(actor=desk.alice, subject="Printer", body="Broken")
    _token, plaintext = token_create(
        actor=None, user=desk.agent1, name="CI", scopes=["tickets:read"]
    )
    bearer = [(b"authorization", f"Bearer {plaintext}".encode())]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    for path in ["/api/v1/tickets?limit=5", f"/api/v1/tickets/{ticket.pk}", "/api/v1/tickets/0"]:
        expected = client.get(path)
        response = asgi_get(path, bearer)
        assert response["status"] == expected.status_code
        assert response["body"] == expected.content
        headers = dict(response["headers"])
        assert headers[b"Content-Type"] == expected["Content-Type"].encode()
        assert headers[b"X-Frame-Options"] == b"DENY"

    refused = asgi_get("/api/v1/tickets", [(b"authorization", b"Bearer hl_nope_nope")])
    assert refused["status"] == 401
    assert dict(refused["headers"])[b"WWW-Authenticate"] == b'Bearer realm="api"'


@pytest.mark.django_db(transaction=True)
def test_pages_answer_with_their_cookies_and_language() -> None:
    response = asgi_get("/accounts/login/", [(b"accept-language", b"ru")])
    assert response["status"] == 200
    cookies = [value for name, value in response["headers"] if name == b"Set-Cookie"]
    assert any(cookie.startswith(b"csrftoken=") for cookie in cookies)
    assert dict(response["headers"])[b"Content-Language"] == b"ru"
