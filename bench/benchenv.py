"""Where a benchmark database lives, and how to (re)create it before Django starts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/helpline_bench"


def kind_of(url: str) -> str:
    return "postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def label(tickets: int) -> str:
    if tickets % 1_000_000 == 0:
        return f"{tickets // 1_000_000}m"
    if tickets % 1000 == 0:
        return f"{tickets // 1000}k"
    return str(tickets)


def pg_url(tickets: int) -> str:
    """The default PostgreSQL bench database for a size: one database per size."""
    return f"{DEFAULT_PG_URL}_{label(tickets)}"


def configure(url: str | None, tickets: int) -> str:
    """Point this process's environment (and Django's settings) at a bench database.

    `url` (or DATABASE_URL) selects the database; empty means SQLite. Data (the SQLite file,
    the task queue, seed.json) lives in bench/out/<kind>-<size>. Returns "sqlite" or
    "postgres". Must run before `django.setup()`.
    """
    url = url if url is not None else os.environ.get("DATABASE_URL", "")
    kind = kind_of(url)
    if url:
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    data_dir = Path(OUT / f"{kind}-{label(tickets)}")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HELPLINE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    os.environ.setdefault("HELPLINE_LOG_LEVEL", "WARNING")
    return kind


def data_dir() -> Path:
    return Path(os.environ["HELPLINE_DATA_DIR"])


def recreate_database() -> None:
    """Drop and create the bench database (and the task queue) for a fresh seed."""
    url = os.environ.get("DATABASE_URL", "")
    directory = data_dir()
    for name in ("helpline.sqlite3", "tasks.sqlite3"):
        for suffix in ("", "-wal", "-shm", "-journal"):
            (directory / f"{name}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(directory / "media", ignore_errors=True)
    if kind_of(url) != "postgres":
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    params = dj_database_url.parse(url)
    name = params["NAME"]
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to drop database {name!r}; use a dedicated bench database")
    with psycopg.connect(
        dbname="postgres",
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
