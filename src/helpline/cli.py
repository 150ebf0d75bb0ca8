"""The `helpline` command: a thin front for Helpline's management commands.

    helpline run            set up (migrate, static files, demo data) and serve web + tasks
    helpline migrate        apply migrations and create the cache table
    helpline createadmin    create an administrator (--email, --password-from-stdin)
    helpline demo           load the demo desk into an empty database
    helpline worker         run the task consumer alone
    helpline check          settings, database, Redis, migrations, queue; exit 1 on problems
    helpline reindex        rebuild the full-text search index (shows progress)
    helpline mail-intake    run the SMTP/LMTP server an MTA delivers inbound mail to
    helpline mail poll      fetch new mail of IMAP mailboxes now (`mail replay` reprocesses)
    helpline manage ARGS    any Django management command (`helpline manage shell`)

Any other name is passed to Django as a management command (`helpline token list`).
DJANGO_SETTINGS_MODULE defaults to helpline.settings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# helpline subcommand -> the management command that implements it.
COMMANDS = {
    "run": "run",
    "migrate": "setupdb",
    "createadmin": "createadmin",
    "demo": "demo",
    "worker": "worker",
    "check": "healthcheck",
    "reindex": "search_reindex",
    "mail-intake": "mail_intake",
}

USAGE = (__doc__ or "").split("\n\n")[1].rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return its exit status (0 success, 1 failure, 2 usage error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] in {"-h", "--help", "help"} and len(args) == 1):
        print(f"Usage:\n{USAGE}")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name == "manage":
        if not rest:
            rest = ["help"]
        command, rest = rest[0], rest[1:]
    elif name == "help":
        command, rest = "help", [COMMANDS.get(rest[0], rest[0]), *rest[1:]]
    else:
        command = COMMANDS.get(name, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["helpline", command, *rest])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
