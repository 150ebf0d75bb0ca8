"""A database that stays busy past its wait limit: the API answers 503 in the error shape and
pages answer a 503 page, both with Retry-After; nothing half-done is kept, and the same
request succeeds once the database is free.

The lock is real: a second connection holds SQLite's write lock (or an exclusive lock on the
tickets table on PostgreSQL) while the request's connection waits only briefly for it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from helpline.core.testing import build_desk
from helpline.integrations import services as tokens
from helpline.tickets.models import Ticket


@pytest.fixture
def desk(transactional_db: Any) -> Any:
    return build_desk()


@pytest.fixture
def hold_lock() -> Iterator[Callable[[], Callable[[], None]]]:
    """`release = hold_lock()`: lock the tickets from another connection until `release()`."""
    releases: list[Callable[[], None]] = []

    def hold() -> Callable[[], None]:
        settings = connection.settings_dict
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                other: Any = sqlite3.connect(settings["NAME"], isolation_level=None)
                other.execute("BEGIN IMMEDIATE")
                cursor.execute("PRAGMA busy_timeout = 50")
            else:
                other = psycopg.connect(
                    dbname=settings["NAME"],
                    host=settings["HOST"] or None,
                    port=settings["PORT"] or None,
                    user=settings["USER"] or None,
                    password=settings["PASSWORD"] or None,
                )
                other.execute("LOCK TABLE tickets_ticket IN ACCESS EXCLUSIVE MODE")
                cursor.execute("SET lock_timeout = '100ms'")

        def release() -> None:
            if other in held:
                held.remove(other)
                other.rollback()
                other.close()

        held.append(other)
        releases.append(release)
        return release

    held: list[Any] = []
    yield hold
    for release in releases:
        release()


def test_api_answers_503_while_the_database_is_busy(desk: Any, hold_lock: Any) -> None:
    secret = tokens.token_create(
        actor=desk.alice, user=desk.alice, name="app", scopes=["tickets:write"]
    )[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"subject": "Printer on fire", "body": "Smoke."}
    release = hold_lock()
    busy = client.post("/api/v1/tickets", body, content_type="application/json")
    release()
    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert busy.json()["error"]["code"] == "unavailable"
    assert busy.json()["error"]["message"] == "The service is busy. Please try again in a moment."
    assert not Ticket.objects.filter(subject="Printer on fire").exists()

    again = client.post("/api/v1/tickets", body, content_type="application/json")
    assert again.status_code == 201
    assert Ticket.objects.filter(subject="Printer on fire").count() == 1


def test_a_page_answers_503_while_the_database_is_busy(desk: Any, hold_lock: Any) -> None:
    client = Client()
    client.force_login(desk.dave)
    form = {"subject": "Wrong invoice", "description": "I was charged twice."}
    release = hold_lock()
    busy = client.post(reverse("tickets:portal_new"), form)
    release()
    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    page = busy.content.decode()
    assert "The service is busy. Please try again in a moment." in page
    assert not Ticket.objects.filter(subject="Wrong invoice").exists()

    again = client.post(reverse("tickets:portal_new"), form)
    assert again.status_code == 302
    assert Ticket.objects.filter(subject="Wrong invoice", requester=desk.dave).count() == 1
