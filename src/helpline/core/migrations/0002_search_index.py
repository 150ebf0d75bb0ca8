"""The full-text search index (see helpline.core.search): FTS5 on SQLite, tsvector on PostgreSQL."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE core_search_ticket USING fts5("
    "subject, requester, public, internal, tokenize='unicode61', prefix='3 4')",
]
POSTGRESQL = [
    "CREATE TABLE core_search_ticket (ticket_id bigint PRIMARY KEY, document tsvector NOT NULL)",
    "CREATE INDEX core_search_ticket_document ON core_search_ticket USING gin (document)",
    # Track many more lexemes than the default 100 x 10: better row estimates for search terms.
    "ALTER TABLE core_search_ticket ALTER COLUMN document SET STATISTICS 2000",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise RuntimeError(f"Helpline's search index supports SQLite and PostgreSQL, not {vendor}")
    for statement in SQLITE if vendor == "sqlite" else POSTGRESQL:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    schema_editor.execute("DROP TABLE core_search_ticket")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
