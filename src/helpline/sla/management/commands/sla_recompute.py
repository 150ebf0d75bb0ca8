"""`helpline sla_recompute`: recompute the deadlines of every running SLA/OLA timer."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from helpline.sla.recompute import recompute_running


class Command(BaseCommand):
    help = (
        "Recompute due and warning times of all running SLA/OLA timers and Ticket.sla_due_at "
        "(after changing a calendar's hours or holidays)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        count = recompute_running()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Recomputed {count} running timers in {elapsed:.1f} s.")
