"""Django's ASGI handler, with the middleware chain and the view in one thread hop.

Django's own handler loads the middleware chain in async mode. Helpline's middleware and
views are synchronous, so a request then crosses between the event loop and the request's
worker thread several times: into the sync-only middleware (`sync_to_async`), back to the
loop for the async-capable middleware below them (`async_to_sync`), into the thread again
for each of their `process_request` / `process_response` and for the view. Each crossing
costs futures, context copies and thread wake-ups (about 1 ms of CPU per API request).

`SyncChainASGIHandler` loads the chain in sync mode, as the WSGI handler does, and runs all
of it (middleware, view, exception handling) in one `sync_to_async` call on the request's
thread-sensitive worker, where Django's handler runs views too. Reading the request,
`request_started`, sending the response and closing it (`request_finished`) stay Django's.
An async view would still work: the sync chain calls it through `async_to_sync`.
"""

from __future__ import annotations

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:  # not ASGIHandler's: it loads the chain in async mode
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """`django.core.asgi.get_asgi_application` with `SyncChainASGIHandler`."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
