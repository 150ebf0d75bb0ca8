"""helpline check: is this installation ready to serve?

Runs Django's system checks, then checks that the database answers, that Redis answers (when
REDIS_URL is set), that no migration is pending, that the cache answers and that the
task queue can be read. Prints one line per check; exits 1 when any of them fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from helpline.core.management.consumer import describe_queue

OK, FAIL, WARN, SKIP = "ok", "FAIL", "warn", "skip"


class Problem(Exception):
    """A check failed; the message says what to do."""


class Command(BaseCommand):
    help = "Check settings, database, Redis, migrations and the task queue; exit 1 on problems."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deploy", action="store_true", help="Include Django's deployment checks."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.failures = 0
        self._run("Settings", lambda: self._system_checks(options["deploy"], with_db=False))
        database_ok = self._run("Database", self._database)
        if settings.REDIS_URL:
            self._run("Redis", self._redis)
        else:
            self._line(SKIP, "Redis", "not configured (no REDIS_URL): embedded mode")
        if database_ok:
            self._run("Database checks", lambda: self._system_checks(False, with_db=True))
            self._run("Migrations", self._migrations)
            self._run("Cache", self._cache)
        else:
            self._line(SKIP, "Migrations", "database not reachable")
        self._run("Task queue", self._queue)
        if self.failures:
            raise CommandError(f"{self.failures} problem(s) found.")
        self.stdout.write(self.style.SUCCESS("All checks passed."))

    def _run(self, name: str, check: Callable[[], str]) -> bool:
        try:
            detail = check()
        except Problem as exc:
            self.failures += 1
            self._line(FAIL, name, str(exc))
            return False
        self._line(WARN if detail.startswith("warning") else OK, name, detail)
        return True

    def _line(self, state: str, name: str, detail: str) -> None:
        style = {OK: self.style.SUCCESS, FAIL: self.style.ERROR, WARN: self.style.WARNING}
        label = style.get(state, str)(f"{state:<4}")
        self.stdout.write(f"{label}  {name:<16} {detail}")

    def _system_checks(self, deploy: bool, *, with_db: bool) -> str:
        messages = checks.run_checks(
            include_deployment_checks=deploy,
            databases=["default"] if with_db else None,
            tags=[checks.Tags.database] if with_db else None,
        )
        shown = [m for m in messages if not m.is_silenced()]
        errors = [m for m in shown if m.level >= checks.ERROR]
        if errors:
            raise Problem("; ".join(str(m) for m in errors))
        if shown:
            return "warning: " + "; ".join(str(m) for m in shown)
        return "no issues"

    def _database(self) -> str:
        db = settings.DATABASES["default"]
        where = (
            str(db["NAME"])
            if connection.vendor == "sqlite"
            else f"{db.get('USER') or '?'}@{db.get('HOST') or 'localhost'}:"
            f"{db.get('PORT') or 'default'}/{db['NAME']}"
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception as exc:
            raise Problem(f"{connection.vendor} {where} not reachable: {exc}".strip()) from exc
        return f"{connection.vendor} {where} reachable"

    def _redis(self) -> str:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3
        )
        try:
            client.ping()
        except redis.RedisError as exc:
            raise Problem(f"not reachable: {exc}") from exc
        finally:
            client.close()
        return "reachable"

    def _migrations(self) -> str:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
            raise Problem(f"{len(plan)} pending ({names}{more}); run `helpline migrate`")
        return "all applied"

    def _cache(self) -> str:
        from django.core.cache import cache

        key = f"helpline:healthcheck:{uuid.uuid4().hex}"
        try:
            cache.set(key, "ok", timeout=10)
            answered = cache.get(key)
            cache.delete(key)
        except Exception as exc:
            raise Problem(f"not usable: {exc}") from exc
        if answered != "ok":
            raise Problem("a value written could not be read back")
        return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]

    def _queue(self) -> str:
        from huey.contrib.djhuey import HUEY

        if HUEY.immediate:
            return "warning: tasks run inline (HELPLINE_TASKS_IMMEDIATE)"
        try:
            pending = HUEY.pending_count()
        except Exception as exc:
            raise Problem(f"{describe_queue()} not readable: {exc}") from exc
        return f"{describe_queue()}, {pending} task(s) waiting"
