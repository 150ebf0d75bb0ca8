"""Queue entry points of the core app, and the one `enqueue()` wrapper all apps use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


def enqueue(task: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Put one call of a Huey task on the queue (runs inline when tasks are immediate)."""
    return task(*args, **kwargs)


@db_task(retries=8, retry_delay=5)
def dispatch_event(event_id: int) -> None:
    from helpline.core import events

    events.dispatch(event_id)


@db_task(retries=8, retry_delay=5)
def dispatch_events(event_ids: list[int]) -> None:
    """Dispatch events committed together, as one batch (`events.dispatch_many`): raises
    after all were tried if any receiver failed (the retry skips what is done)."""
    from helpline.core import events

    events.dispatch_many(event_ids)


@db_periodic_task(crontab(minute="*"))
def redispatch_stale_events() -> None:
    """Catch events whose dispatch was lost (crash between commit and enqueue)."""
    from helpline.core.models import OutboxEvent

    cutoff = timezone.now() - timedelta(minutes=1)
    stale = OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff)
    for event_id in stale.order_by("created_at").values_list("id", flat=True)[:1000]:
        enqueue(dispatch_event, event_id)
