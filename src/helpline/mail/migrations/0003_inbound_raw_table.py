"""Raw messages move to their own table, `mail_inboundraw`.

A message's row is updated as it is processed (claimed, then finished); its bytes never
change. SQLite rewrites a whole row on every update, large values included, so each
update of a 40 kB message wrote its bytes again. On PostgreSQL the new column is
compressed with LZ4 where the server has it (as 0002 did for the old one).
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from helpline.core.blobs import lz4_available


def copy_raw(apps: Any, schema_editor: Any) -> None:
    if lz4_available(schema_editor.connection):
        schema_editor.execute("ALTER TABLE mail_inboundraw ALTER COLUMN data SET COMPRESSION lz4")
    schema_editor.execute(
        "INSERT INTO mail_inboundraw (inbound_id, data) SELECT id, raw FROM mail_inboundemail"
    )


def copy_back(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        "UPDATE mail_inboundemail SET raw = (SELECT data FROM mail_inboundraw"
        " WHERE mail_inboundraw.inbound_id = mail_inboundemail.id)"
    )


def drop_raw(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute("ALTER TABLE mail_inboundemail DROP COLUMN raw")


def add_raw(apps: Any, schema_editor: Any) -> None:
    """The column back, empty until `copy_back` fills it."""
    kind = "bytea" if schema_editor.connection.vendor == "postgresql" else "BLOB"
    schema_editor.execute(
        f"ALTER TABLE mail_inboundemail ADD COLUMN raw {kind} NOT NULL DEFAULT ''"
    )


class Migration(migrations.Migration):
    dependencies = [("mail", "0002_inboundemail_raw_lz4")]

    operations = [
        migrations.CreateModel(
            name="InboundRaw",
            fields=[
                (
                    "inbound",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="raw_message",
                        serialize=False,
                        to="mail.inboundemail",
                    ),
                ),
                ("data", models.BinaryField()),
            ],
        ),
        migrations.RunPython(copy_raw, copy_back, elidable=False),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_raw, add_raw, elidable=False)],
            state_operations=[migrations.RemoveField(model_name="inboundemail", name="raw")],
        ),
    ]
