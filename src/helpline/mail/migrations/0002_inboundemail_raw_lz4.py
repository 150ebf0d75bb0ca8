"""Stored raw messages compressed with LZ4 on PostgreSQL 14+ (when the server has it).

PostgreSQL compresses large values with pglz by default; LZ4 compresses and decompresses
several times faster, which is most of the database's work in storing inbound mail (raw
messages average 40 kB). Values stored before keep their compression until rewritten.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from helpline.core.blobs import lz4_available


def use_lz4(apps: Any, schema_editor: Any) -> None:
    if lz4_available(schema_editor.connection):
        schema_editor.execute("ALTER TABLE mail_inboundemail ALTER COLUMN raw SET COMPRESSION lz4")


def use_default(apps: Any, schema_editor: Any) -> None:
    if lz4_available(schema_editor.connection):
        schema_editor.execute(
            "ALTER TABLE mail_inboundemail ALTER COLUMN raw SET COMPRESSION default"
        )


class Migration(migrations.Migration):
    dependencies = [("mail", "0001_initial")]

    operations = [migrations.RunPython(use_lz4, use_default, elidable=False)]
