"""Browser tests: Playwright (sync API) driving Debian's headless Chromium against
pytest-django's live server, with real transactions (`transactional_db`).

Never downloads a browser: Chromium must be at `HELPLINE_CHROMIUM` (default
`/usr/bin/chromium`); `make test` and `.ci/run` install Debian's `chromium` when missing.
Screenshots go to `HELPLINE_SCREENSHOTS_DIR` (default `screenshots/`, git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per test module: Playwright's loop must be gone before other modules'
    tests (`async_to_sync` refuses to run in a thread with a running event loop)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not at {CHROMIUM}: install Debian's `chromium` package "
            "(make test and .ci/run do it) or set HELPLINE_CHROMIUM."
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on the main thread while it runs; allow
    # Django's synchronous database calls there (the live server's fixtures flush tables).
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def screenshots() -> Path:
    folder = Path(os.environ.get("HELPLINE_SCREENSHOTS_DIR", "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run database work off the main thread: Playwright's sync API keeps an event loop
    there, where Django refuses synchronous ORM calls and real-time pushes."""

    def run() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            # Hand the thread's connection back: on PostgreSQL it came from the process's
            # pool, and a dead thread's connection would hold a pool slot until timeout.
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def browser_desk(transactional_db: Any, live_server: Any) -> Any:
    from helpline.core.testing import build_desk

    return in_thread(build_desk)


@pytest.fixture
def open_context(chromium: Any, live_server: Any) -> Iterator[Any]:
    """`open_context(locale="ru-RU")`: a fresh browser profile (cookies) on the live server."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = chromium.new_context(base_url=live_server.url, viewport=DESKTOP, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
