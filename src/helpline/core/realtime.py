"""Real-time pushes over Django Channels: one group per ticket and one for the desk."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_for(aggregate_type: str, aggregate_id: Any) -> str:
    return f"{aggregate_type}.{aggregate_id}"


def publish_event(record: Any) -> None:
    """Tell subscribers that an aggregate changed. Never fails the caller."""
    publish_events([record])


def publish_events(records: Sequence[Any]) -> None:
    """`publish_event` for several events, in one call into the channel layer."""
    layer = get_channel_layer()
    if layer is None or not records:
        return

    async def send() -> None:
        for record in records:
            message = {
                "type": "domain.event",
                "event": record.type,
                "event_id": str(record.uuid),
                "aggregate_type": record.aggregate_type,
                "aggregate_id": record.aggregate_id,
            }
            try:
                await layer.group_send(
                    group_for(record.aggregate_type, record.aggregate_id), message
                )
            except Exception:
                logger.warning("real-time push failed for event %s", record.pk, exc_info=True)

    try:
        async_to_sync(send)()
    except Exception:
        logger.warning("real-time push failed for %d events", len(records), exc_info=True)
