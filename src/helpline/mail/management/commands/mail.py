"""`helpline mail poll|replay`: poll IMAP mailboxes now; process stored messages again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.mail.models import InboundEmail, Mailbox


class Command(BaseCommand):
    help = "Inbound mail: `add`/`list` mailboxes, `poll` IMAP, `replay` stored messages."

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
        sub.add_parser("list", help="List the mailboxes.")
        add = sub.add_parser("add", help="Create or change a mailbox.")
        add.add_argument("--address", required=True)
        add.add_argument("--way", choices=Mailbox.Way.values)
        add.add_argument("--team", help="Team name for new tickets.")
        add.add_argument("--category", help="Category name for new tickets.")
        add.add_argument("--inactive", action="store_true")
        add.add_argument("--imap-host")
        add.add_argument("--imap-port", type=int)
        add.add_argument("--imap-security", choices=Mailbox.Security.values)
        add.add_argument("--imap-username")
        add.add_argument("--imap-auth", choices=Mailbox.Auth.values)
        add.add_argument("--imap-folder")
        add.add_argument("--processed", choices=Mailbox.Processed.values)
        add.add_argument("--processed-folder")
        add.add_argument(
            "--secret-from-stdin",
            action="store_true",
            help="Read the IMAP password or OAuth2 token from standard input.",
        )
        add.add_argument("--follow-up-on-closed", choices=["yes", "no"])
        add.add_argument("--cc-as-watchers", choices=["yes", "no"])
        secret = sub.add_parser("http-secret", help="Make a new secret for the HTTP endpoint.")
        secret.add_argument("address")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "poll":
            self._poll(options.get("mailbox"))
        elif action == "replay":
            self._replay(options.get("id"), options.get("state"))
        elif action == "list":
            for mailbox in Mailbox.objects.select_related("team", "category"):
                state = "" if mailbox.is_active else " (inactive)"
                self.stdout.write(
                    f"{mailbox.pk}\t{mailbox.address}\t{mailbox.way}\t"
                    f"{mailbox.team or '-'}\t{mailbox.category or '-'}{state}"
                )
        elif action == "add":
            self._add(options)
        else:
            self._http_secret(options["address"])

    def _add(self, options: dict[str, Any]) -> None:
        import sys

        from helpline.accounts.models import Team
        from helpline.core.errors import DomainError
        from helpline.mail.services import mailbox_save
        from helpline.tickets.models import Category

        fields: dict[str, Any] = {}
        names = {
            "way": "way",
            "imap_host": "imap_host",
            "imap_port": "imap_port",
            "imap_security": "imap_security",
            "imap_username": "imap_username",
            "imap_auth": "imap_auth",
            "imap_folder": "imap_folder",
            "processed": "processed_action",
            "processed_folder": "processed_folder",
        }
        for option, field in names.items():
            if options.get(option) is not None:
                fields[field] = options[option]
        for option in ("follow_up_on_closed", "cc_as_watchers"):
            if options.get(option):
                fields[option] = options[option] == "yes"
        fields["is_active"] = not options["inactive"]
        if options.get("team"):
            fields["team"] = Team.objects.filter(name=options["team"]).first()
            if fields["team"] is None:
                raise CommandError(f"No team {options['team']!r}.")
        if options.get("category"):
            fields["category"] = Category.objects.filter(name=options["category"]).first()
            if fields["category"] is None:
                raise CommandError(f"No category {options['category']!r}.")
        secret = sys.stdin.readline().rstrip("\n") if options["secret_from_stdin"] else None
        try:
            mailbox = mailbox_save(address=options["address"], imap_secret=secret, **fields)
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.fields}") from None
        self.stdout.write(f"Mailbox {mailbox.pk} {mailbox.address} ({mailbox.way}) saved.")

    def _http_secret(self, address: str) -> None:
        from helpline.mail.services import mailbox_new_http_secret

        mailbox = Mailbox.objects.filter(address__iexact=address).first()
        if mailbox is None:
            raise CommandError(f"No mailbox {address}.")
        self.stdout.write(mailbox_new_http_secret(mailbox=mailbox))

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
