"""helpline worker: run the task consumer alone (one per worker host; needs REDIS_URL to
spread over several hosts). SIGINT or SIGTERM stops it after its running tasks finish."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.core.management.consumer import create_consumer, describe_queue


class Command(BaseCommand):
    help = "Run the background task consumer without the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers", type=int, default=None, help="Consumer threads (default HELPLINE_WORKERS)."
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="Do not schedule periodic tasks (run them on one consumer only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] is not None and options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if settings.HUEY.get("immediate"):
            raise CommandError("Tasks run inline (HELPLINE_TASKS_IMMEDIATE); nothing to consume.")
        if not settings.REDIS_URL:
            self.stderr.write(
                "Note: no REDIS_URL; consuming the local SQLite queue (this machine only)."
            )
        consumer = create_consumer(
            workers=options["workers"], periodic=not options["no_periodic"], embedded=False
        )
        self.stdout.write(
            f"Task consumer: {consumer.workers} thread(s) on {describe_queue()}. Ctrl-C stops it."
        )
        consumer.run()
