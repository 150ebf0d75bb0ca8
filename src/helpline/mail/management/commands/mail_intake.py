"""`helpline mail-intake [--host H] [--port P] [--lmtp]`: the SMTP/LMTP intake server."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpline.mail.intake import serve


class Command(BaseCommand):
    help = "Run the built-in SMTP/LMTP server that an MTA delivers inbound mail to."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Mail intake on {options['host']}:{options['port']}")
        try:
            serve(options["host"], options["port"], lmtp=options["lmtp"])
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
