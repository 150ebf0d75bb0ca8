"""helpline reindex: rebuild the full-text search index of every ticket, showing progress.

The index is kept up to date by event receivers; a rebuild is needed after restoring a
database without its index, or after an upgrade that changes how text is indexed.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpline.core import search


class Command(BaseCommand):
    help = "Rebuild the full-text search index of all tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="Tickets per batch.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            percent = 100 * done / total if total else 100
            rate = done / max(time.monotonic() - started, 1e-6)
            self.stdout.write(
                f"\r  {done}/{total} tickets ({percent:.0f}%, {rate:.0f}/s)", ending=""
            )
            self.stdout.flush()

        count = search.reindex_all(batch_size=options["batch_size"], progress=progress)
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Indexed {count} tickets in {time.monotonic() - started:.1f} s.")
        )
