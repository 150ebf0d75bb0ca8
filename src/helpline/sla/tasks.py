"""Queue entry points of the sla app. The periodic task is the only place warnings and
breaches fire; it reads what came due from the database, so a worker that was down catches
up on its first run."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from helpline.sla import services


@db_periodic_task(crontab(minute="*"))
def fire_due_sla_timers() -> None:
    services.process_due()
