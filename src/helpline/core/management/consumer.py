"""The Huey task consumer as `helpline run` and `helpline worker` start it."""

from __future__ import annotations

import gc
import logging
from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from huey.consumer import Consumer
from huey.consumer_options import ConsumerConfig


class EmbeddedConsumer(Consumer):
    """A consumer that leaves signal handling to its host (the web server in `run`)."""

    def _set_signal_handlers(self) -> None:
        return None


def consumer_options(workers: int | None = None, *, periodic: bool = True) -> dict[str, Any]:
    """Settings' consumer options (HUEY["consumer"]), `workers` overriding the thread count;
    `periodic=False` leaves the periodic tasks to another consumer."""
    huey_settings: dict[str, Any] = settings.HUEY
    options: dict[str, Any] = dict(huey_settings.get("consumer", {}))
    if workers is not None:
        options["workers"] = workers
    options["periodic"] = periodic
    config = ConsumerConfig(**options)
    config.validate()
    logger = logging.getLogger("huey")
    if not logger.handlers and not logging.getLogger().handlers:
        config.setup_logger(logger)
    return dict(config.values)


def create_consumer(
    *, workers: int | None = None, periodic: bool = True, embedded: bool
) -> Consumer:
    """A consumer of the configured queue with every app's `tasks` module registered.

    `embedded=True` gives one that the caller starts with `start()` and stops with
    `stop(graceful=True)`; otherwise `run()` it and it handles SIGINT/SIGTERM itself.
    """
    from huey.contrib.djhuey import HUEY

    settle_process()
    options = consumer_options(workers, periodic=periodic)
    if embedded:
        return EmbeddedConsumer(HUEY, **options)
    return HUEY.create_consumer(**options)


def settle_process() -> None:
    """Import every app's tasks, then leave the objects made so far (modules, settings,
    URL patterns, caches: they live as long as the process) out of the cyclic garbage
    collector's full passes (`gc.freeze`). A full pass walks every tracked object; in a
    worker ingesting mail they took about 5% of the time."""
    autodiscover_modules("tasks")
    gc.freeze()


def describe_queue() -> str:
    """Where the queue lives, for start-up banners and `helpline check`."""
    from huey.contrib.djhuey import HUEY

    if settings.REDIS_URL:
        return f"Redis ({type(HUEY).__name__}, queue {HUEY.name!r})"
    return f"SQLite file {settings.HUEY.get('filename')}"
