"""helpline replay_events: inspect and re-run the dispatch of domain events.

    helpline replay_events              # undispatched events and failed receivers
    helpline replay_events --all        # dispatch every undispatched event now, oldest first
    helpline replay_events 41 42        # dispatch these events now

Dispatch is idempotent: receivers that already handled an event are skipped, so replaying
only re-runs what failed or never ran. Events already fully dispatched are left alone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from helpline.core.events import dispatch
from helpline.core.models import OutboxEvent, ReceiverRun


class Command(BaseCommand):
    help = "Show undispatched events and failed receivers; dispatch events again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Event ids to dispatch now.")
        parser.add_argument(
            "--all", action="store_true", help="Dispatch every undispatched event now."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pending = OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("created_at")
        if options["ids"]:
            self._dispatch(OutboxEvent.objects.filter(pk__in=options["ids"]).order_by("pk"))
        elif options["all"]:
            self._dispatch(pending)
        else:
            self._report(pending)

    def _report(self, pending: QuerySet[OutboxEvent]) -> None:
        oldest = pending.first()
        since = f" (oldest {oldest.created_at:%Y-%m-%d %H:%M:%S} UTC)" if oldest else ""
        self.stdout.write(f"Undispatched events: {pending.count()}{since}")
        failed = ReceiverRun.objects.filter(state=ReceiverRun.State.FAILED).select_related("event")
        self.stdout.write(f"Failed receiver runs: {failed.count()}")
        for run in failed.order_by("-updated_at")[:20]:
            self.stdout.write(
                f"  event {run.event_id} {run.event.type}: {run.receiver} "
                f"({run.attempts} attempt(s)): {run.last_error.splitlines()[0][:160]}"
            )

    def _dispatch(self, events: QuerySet[OutboxEvent]) -> None:
        done = failed = 0
        for event_id in events.values_list("pk", flat=True).iterator():
            try:
                dispatch(event_id)
            except Exception as exc:
                failed += 1
                self.stderr.write(f"event {event_id}: {exc}")
            else:
                done += 1
        self.stdout.write(f"Dispatched {done} event(s); {failed} still failing.")
        if failed:
            raise CommandError(f"{failed} event(s) still failing; see the log.")
