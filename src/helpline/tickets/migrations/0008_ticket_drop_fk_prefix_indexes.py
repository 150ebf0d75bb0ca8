"""Drop the single-column indexes of tickets' requester, organization, team and assignee.

Each is the leading column of a composite index that serves the same lookups (and the
foreign-key checks of deletes): ticket_requester (requester_id, updated_at),
ticket_org (organization_id, updated_at), ticket_team_status / ticket_team_queue /
ticket_team_first_response (team_id, ...), ticket_assignee_status (assignee_id, status,
updated_at). Every index costs each ticket write that is not HOT, such as the SLA recompute's
rewrite of `sla_due_at` of every open ticket (19 -> 15 index entries per row).

Plain DROP INDEX (same SQL on SQLite and PostgreSQL): AlterField would remake the table on
SQLite and re-validate the foreign keys on PostgreSQL.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = [
    ("tickets_ticket_assignee_id_3a5aa407", "assignee_id"),
    ("tickets_ticket_organization_id_7128da48", "organization_id"),
    ("tickets_ticket_requester_id_2072a2f2", "requester_id"),
    ("tickets_ticket_team_id_5a4e7469", "team_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("tickets", "0007_ticket_team_first_response"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "tickets_ticket" ("{column}")',
                )
                for name, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_tickets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tickets",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="requester",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="requested_tickets",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tickets",
                        to="accounts.team",
                    ),
                ),
            ],
        ),
    ]
