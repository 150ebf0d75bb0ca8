"""helpline run: set the desk up and serve it, web and task consumer in one process.

    helpline run [--host 127.0.0.1] [--port 8000] [--workers N] [--no-worker]
                 [--no-migrate] [--no-collectstatic] [--no-demo]

Steps: apply migrations (and create the cache table), collect static files, load the demo
desk when the database has no users yet, start the Huey consumer threads, then serve
`helpline.asgi:application` with uvicorn in the main thread. Ctrl-C (SIGINT) or SIGTERM stops
the web server, then the consumer finishes the tasks it is running and the process exits 0.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from huey.consumer import Consumer

from helpline.core.management import demo
from helpline.core.management.consumer import create_consumer, describe_queue

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, calling `on_started` once it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def _ignore(signum: int, frame: Any) -> None:
    return None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Set up the desk and serve it: web (ASGI) and the task consumer in one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Task consumer threads (default: HELPLINE_WORKERS, else 2 embedded, 4 Redis).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Serve web only; run `helpline worker` processes for the tasks (needs Redis).",
        )
        parser.add_argument("--no-migrate", action="store_true", help="Skip migrations.")
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="Skip collecting static files."
        )
        parser.add_argument("--no-demo", action="store_true", help="Never load demo data.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] is not None and options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if not options["no_migrate"]:
            self.stdout.write("Applying database migrations ...")
            call_command("setupdb", verbosity=0)
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        if not options["no_demo"]:
            call_command("demo", if_empty=True, verbosity=options["verbosity"])
        consumer = self._consumer(options)
        config = uvicorn.Config(
            "helpline.asgi:application",
            host=options["host"],
            port=options["port"],
            lifespan="off",
            log_level="info",
        )
        banner = self._banner(options, consumer)
        server = _Server(config, on_started=lambda: self._print(banner))
        previous = {sig: signal.signal(sig, _ignore) for sig in HANDLED_SIGNALS}
        failed = False
        try:
            if consumer is not None:
                consumer.start()
            server.run()
        except SystemExit:
            failed = True
        finally:
            for sig in HANDLED_SIGNALS:
                signal.signal(sig, _interrupt)
            if consumer is not None:
                self.stdout.write("Stopping the task consumer ...")
                consumer.stop(graceful=True)
                consumer.huey.notify_interrupted_tasks()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed or not server.started:
            raise CommandError(f"Could not serve on {options['host']}:{options['port']}.")
        self.stdout.write("Helpline stopped.")

    def _consumer(self, options: dict[str, Any]) -> Consumer | None:
        if options["no_worker"]:
            if not settings.REDIS_URL:
                self.stderr.write(
                    "Note: --no-worker without REDIS_URL; tasks wait in the SQLite queue until "
                    "a `helpline worker` on this machine runs them."
                )
            return None
        if settings.HUEY.get("immediate"):
            self.stderr.write("Tasks run inline (HELPLINE_TASKS_IMMEDIATE); no consumer started.")
            return None
        return create_consumer(workers=options["workers"], embedded=True)

    def _print(self, text: str) -> None:
        self.stdout.write(text)
        sys.stdout.flush()

    def _banner(self, options: dict[str, Any], consumer: Consumer | None) -> str:
        """What `run` prints once it listens (built before serving: no database access
        from inside the server's event loop)."""
        host = options["host"]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        url = f"http://{shown}:{options['port']}"
        worker = (
            f"{consumer.workers} consumer thread(s) on {describe_queue()}"
            if consumer is not None
            else "not started in this process"
        )
        lines = [
            "",
            f"Helpline is running at {url}",
            f"  API:          {url}/api/v1/  (docs {url}/api/v1/docs)",
            f"  Task queue:   {worker}",
        ]
        if demo.demo_present():
            lines.append(f"  Demo logins (password for all: {demo.DEMO_PASSWORD}):")
            lines += [
                f"    {role:<14} {email:<30} {name}" for role, email, name in demo.demo_logins()
            ]
        lines += ["Press Ctrl-C to stop.", ""]
        return "\n".join(lines)
