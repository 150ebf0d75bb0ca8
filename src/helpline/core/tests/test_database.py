"""Database session settings the desk relies on."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgresql_sessions_plan_without_parallel_workers() -> None:
    """List and search pages read their first rows only (LIMIT): a parallel plan would make
    every worker run on behind its Gather Merge (bench/RESULTS.md: 60 ms against 4 ms)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL session setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone() == ("0",)
