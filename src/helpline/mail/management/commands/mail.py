"""`helpline mail poll|replay`: poll IMAP mailboxes now; process stored messages again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.mail.models import InboundEmail, Mailbox


class Command(BaseCommand):
    help = "Inbound mail: `poll` IMAP mailboxes, `replay` stored messages."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        poll = sub.add_parser("poll", help="Fetch new mail of IMAP mailboxes now.")
        poll.add_argument("--mailbox", help="Only this address.")
        replay = sub.add_parser("replay", help="Process stored messages again.")
        replay.add_argument(
            "--state",
            action="append",
            choices=[s.value for s in InboundEmail.State],
            help="Messages in this state (repeatable); default: failed, received, processing.",
        )
        replay.add_argument("--id", type=int, action="append", help="This stored message.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "poll":
            self._poll(options.get("mailbox"))
        else:
            self._replay(options.get("id"), options.get("state"))

    def _poll(self, address: str | None) -> None:
        from helpline.mail.imap import poll_mailbox

        mailboxes = Mailbox.objects.filter(is_active=True, way=Mailbox.Way.IMAP)
        if address:
            mailboxes = mailboxes.filter(address__iexact=address)
            if not mailboxes.exists():
                raise CommandError(f"No active IMAP mailbox {address}.")
        for mailbox in mailboxes:
            count = poll_mailbox(mailbox)
            error = f" ({mailbox.last_error})" if mailbox.last_error else ""
            self.stdout.write(f"{mailbox.address}: {count} new{error}")

    def _replay(self, ids: list[int] | None, states: list[str] | None) -> None:
        from helpline.mail.services import replay

        done = replay(ids=ids, states=states)
        rows = InboundEmail.objects.filter(pk__in=done)
        counts: dict[str, int] = {}
        for state in rows.values_list("state", flat=True):
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing"
        self.stdout.write(f"Replayed {len(done)}: {summary}")
