"""The move of raw messages to their own table keeps every byte, both ways."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from helpline.core.blobs import lz4_available

BEFORE = [("mail", "0002_inboundemail_raw_lz4")]
AFTER = [("mail", "0003_inbound_raw_table")]
RAW = b"Message-ID: <m@x>\r\nSubject: \xd0\x9f\xd1\x80\xd0\xb8\r\n\r\n\x00\xff body"


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_raw_bytes_move_to_their_table_and_back() -> None:
    executor = _migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        mailbox = apps.get_model("mail", "Mailbox").objects.create(address="in@example.com")
        row = apps.get_model("mail", "InboundEmail").objects.create(
            mailbox=mailbox, raw=RAW, sha256="a" * 64, size=len(RAW), source="test"
        )

        executor = _migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        moved = apps.get_model("mail", "InboundRaw").objects.get(inbound_id=row.pk)
        assert bytes(moved.data) == RAW
        columns = [
            c.name
            for c in connection.introspection.get_table_description(
                connection.cursor(), "mail_inboundemail"
            )
        ]
        assert "raw" not in columns
        if lz4_available(connection):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT attcompression FROM pg_attribute"
                    " WHERE attrelid = 'mail_inboundraw'::regclass AND attname = 'data'"
                )
                assert cursor.fetchone() == ("l",)

        executor = _migrate(BEFORE)
        apps = executor.loader.project_state(BEFORE).apps
        back = apps.get_model("mail", "InboundEmail").objects.get(pk=row.pk)
        assert bytes(back.raw) == RAW
        assert "mail_inboundraw" not in connection.introspection.table_names()
    finally:
        _migrate(executor.loader.graph.leaf_nodes())
