"""helpline createadmin: create an administrator.

    helpline createadmin                                   # asks for e-mail and password
    printf '%s\n' "$PASSWORD" | helpline createadmin --email a@b.example --password-from-stdin

Non-interactive use never prompts: --email is required and the password is the first line of
standard input.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.accounts.models import Role
from helpline.accounts.services import user_create
from helpline.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an administrator account (interactively, or from --email and stdin)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=None, help="The administrator's e-mail address.")
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument(
            "--password-from-stdin",
            action="store_true",
            help="Read the password from the first line of standard input (no prompts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"]
        stdin = options.get("stdin") or sys.stdin
        if options["password_from_stdin"]:
            if not email:
                raise CommandError("--email is required with --password-from-stdin.")
            password = stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.")
        else:
            if not stdin.isatty():
                raise CommandError(
                    "Not a terminal: use --email and --password-from-stdin in scripts."
                )
            email = email or input("E-mail: ").strip()
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            user = user_create(
                actor=None,
                email=email,
                role=Role.ADMIN,
                password=password,
                display_name=options["name"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Administrator {user.email} created."))
