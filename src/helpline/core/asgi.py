"""Django's ASGI handler, with the middleware chain and the view in one thread hop, on a
reused thread.

Django's own handler loads the middleware chain in async mode. Helpline's middleware and
views are synchronous, so a request then crosses between the event loop and the request's
worker thread several times: into the sync-only middleware (`sync_to_async`), back to the
loop for the async-capable middleware below them (`async_to_sync`), into the thread again
for each of their `process_request` / `process_response` and for the view. And each request
runs its synchronous code on a thread of its own (`ThreadSensitiveContext()`), started for
the request and joined after it by yet another new thread.

`SyncChainASGIHandler` loads the chain in sync mode, as the WSGI handler does, and runs all
of it (middleware, view, exception handling) in one `sync_to_async` call. A request's
synchronous code still runs on one thread of its own (database connections belong to a
thread), but that thread is reused: an idle single-thread executor from the handler's pool,
given to `ThreadSensitiveContext(executor=...)`. Reading the request, `request_started`,
sending the response and closing it (`request_finished`) stay Django's. An async view would
still work: the sync chain calls it through `async_to_sync`. Together about 1.5 ms of CPU
less per request (bench/api_cpu_bench.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class RequestThread(ThreadPoolExecutor):
    """One worker thread, lent to one request after another; knows when it is idle."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="helpline-request")
        self._lock = threading.Lock()
        self._pending = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._pending == 0


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:  # not ASGIHandler's: it loads the chain in async mode
        self.load_middleware(is_async=False)
        self._idle_threads: list[RequestThread] = []  # touched by the event loop only

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._idle_threads.pop() if self._idle_threads else RequestThread()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            # A request abandoned by its client may leave its view running on the thread:
            # that thread is not lent again, it ends when the view returns.
            if thread.idle:
                self._idle_threads.append(thread)
            else:
                thread.shutdown(wait=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """`django.core.asgi.get_asgi_application` with `SyncChainASGIHandler`."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
