"""Large binary values written and read in bulk, as bytes on the wire.

Django's PostgreSQL backend binds parameters on the client: a `bytea` value travels inside
the SQL text as a hex literal, twice its size, which the server parses back, and results
come back as hex text too. Raw mail is most of what mail ingest writes and reads, so these
statements go through a server-side binding psycopg cursor that sends and receives bytes
in binary. SQLite binds bytes natively; there the Django cursor is used.

The statements run on Django's connection, inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model


def lz4_available(db: Any) -> bool:
    """Whether this PostgreSQL server compresses large values with LZ4 (14+, built with
    it): several times faster than the default pglz."""
    if db.vendor != "postgresql" or db.pg_version < 140000:
        return False
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _names(model: type[Model], field: str) -> tuple[str, str, str]:
    meta = model._meta
    quote = connection.ops.quote_name
    column = str(cast(Field, meta.get_field(field)).column)
    return quote(meta.db_table), quote(str(cast(Field, meta.pk).column)), quote(column)


def _pg_cursor() -> Any:
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def write(model: type[Model], field: str, rows: Sequence[tuple[int, bytes]]) -> None:
    """INSERT (primary key, value) rows into the model's table, its `field` the value."""
    if not rows:
        return
    table, key, column = _names(model, field)
    if connection.vendor == "postgresql":
        values = ", ".join(["(%s, %b)"] * len(rows))
        with _pg_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({key}, {column}) VALUES {values}",  # noqa: S608
                [item for pk, value in rows for item in (pk, bytes(value))],
            )
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({key}, {column}) VALUES (%s, %s)",  # noqa: S608
            [(pk, bytes(value)) for pk, value in rows],
        )


def read(model: type[Model], field: str, keys: Iterable[int]) -> dict[int, bytes]:
    """{primary key: value of `field`} for the rows with these keys."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    table, key, column = _names(model, field)
    if connection.vendor == "postgresql":
        with _pg_cursor() as cursor:
            cursor.execute(
                f"SELECT {key}, {column} FROM {table} WHERE {key} = ANY(%s)",  # noqa: S608
                [wanted],
                binary=True,
            )
            return {pk: bytes(value) for pk, value in cursor.fetchall()}
    found: dict[int, bytes] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {key}, {column} FROM {table} WHERE {key} IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update((pk, bytes(value)) for pk, value in cursor.fetchall())
    return found
