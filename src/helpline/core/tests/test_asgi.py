"""The ASGI application (what `helpline run` serves) answers like the test client's handler:
the same API bodies and errors, pages with their cookies, with the middleware chain and the
view run in one thread hop (`helpline.core.asgi.SyncChainASGIHandler`), each request on a
thread of its own that later requests reuse."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from helpline.asgi import application, django_application
from helpline.core.asgi import SyncChainASGIHandler
from helpline.core.testing import build_desk
from helpline.integrations.services import token_create
from helpline.tickets import services


async def asgi_call(
    app: Any, url: str, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    communicator = HttpCommunicator(
        app, "GET", url, headers=[(b"host", b"testserver"), *(headers or [])]
    )
    response: dict[str, Any] = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response


def asgi_get(url: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return async_to_sync(asgi_call)(application, url, headers)


meeting = threading.Barrier(2, timeout=5)
threads_seen: list[threading.Thread] = []


def which_thread(request: HttpRequest) -> HttpResponse:
    """Notes the view's thread; with ?meet, answers once a second request reached the view."""
    threads_seen.append(threading.current_thread())
    if "meet" in request.GET:
        meeting.wait()
    return HttpResponse()


urlpatterns = [path("thread/", which_thread)]


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

    for url in ["/api/v1/tickets?limit=5", f"/api/v1/tickets/{ticket.pk}", "/api/v1/tickets/0"]:
        expected = client.get(url)
        response = asgi_get(url, bearer)
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


@override_settings(ROOT_URLCONF=__name__)
def test_requests_run_on_threads_of_their_own_that_are_reused() -> None:
    handler = SyncChainASGIHandler()
    threads_seen.clear()

    async def scenario() -> None:
        for _ in range(3):
            assert (await asgi_call(handler, "/thread/"))["status"] == 200
        together = asyncio.gather(
            asgi_call(handler, "/thread/?meet"), asgi_call(handler, "/thread/?meet")
        )
        assert [response["status"] for response in await together] == [200, 200]

    async_to_sync(scenario)()
    first, second, third, *at_once = threads_seen
    assert first is second is third  # one thread, lent to each request in turn
    assert at_once[0] is not at_once[1]  # requests at the same time: a thread each
    assert first in at_once
