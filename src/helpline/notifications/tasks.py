"""Queue entry points: deliver one e-mail; every minute, catch up on due deliveries."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from helpline.core.tasks import enqueue


@db_task()
def send_outbound(outbound_id: int) -> None:
    """One delivery attempt (idempotent: a sent or not-yet-due e-mail is left alone)."""
    from helpline.notifications import services

    services.deliver(outbound_id)


@db_task()
def send_outbound_many(outbound_ids: list[int]) -> None:
    """`send_outbound` for the e-mails queued together (a batch of events): one attempt
    each, over one connection per sender identity."""
    from helpline.notifications import services

    services.deliver_many(outbound_ids)


@db_periodic_task(crontab(minute="*"))
def send_due_outbound() -> None:
    """Retries whose time came, and e-mails a stopped worker left behind."""
    from helpline.notifications import services

    for outbound_id in services.due_ids():
        enqueue(send_outbound, outbound_id)
