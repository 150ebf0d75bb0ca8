"""helpline demo: load the demo desk (through the real services) into an empty database.

Idempotent: when the demo administrator exists it does nothing. It never mixes demo accounts
(with their published password) into a desk that already has users.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.accounts.models import User
from helpline.core.errors import DomainError
from helpline.core.management import demo


class Command(BaseCommand):
    help = "Load the demo desk (teams, agents, organizations, ~30 tickets) into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Skip quietly (exit 0) when the database already has other users.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo.demo_present():
            self.stdout.write("Demo data is already loaded; nothing to do.")
            return
        if User.objects.exists():
            message = "The database already has users; the demo desk loads only into an empty one."
            if options["if_empty"]:
                self.stdout.write(f"{message} Skipped.")
                return
            raise CommandError(message)
        self.stdout.write("Loading the demo desk ...")
        try:
            desk = demo.build_demo()
        except DomainError as exc:
            raise CommandError(f"Could not build the demo desk: {exc.message}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo desk loaded: {len(desk.people)} people, {len(desk.teams)} teams, "
                f"{len(desk.organizations)} organizations, {len(demo.STORIES)} tickets."
            )
        )
        if options["verbosity"] >= 1:
            self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
            for role, email, name in demo.demo_logins():
                self.stdout.write(f"  {role:<14} {email:<30} {name}")
