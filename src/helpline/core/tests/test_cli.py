"""The `helpline` console script: dispatch, exit codes, `check`, `createadmin`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpline.accounts.models import Role, User
from helpline.cli import main
from helpline.core.tests.clitools import helpline

STRONG = "a-long-admin-passphrase"


def test_no_arguments_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in ("run", "migrate", "createadmin", "demo", "worker", "check", "manage"):
        assert f"helpline {name}" in out


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "helpline run" in capsys.readouterr().out


def test_unknown_command_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 1
    assert "Unknown command" in capsys.readouterr().err


def test_help_of_a_subcommand_describes_the_helpline_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the `check` subcommand maps to the `healthcheck` management command,
    # when asking for its help, then the help is that of the health check, not Django's.
    assert main(["help", "check"]) == 0
    assert "--deploy" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_check_passes_on_a_migrated_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "ok    Database" in out
    assert "ok    Migrations       all applied" in out
    assert "ok    Cache            LocMemCache" in out
    assert "All checks passed." in out


@pytest.mark.django_db(transaction=True)
def test_manage_passes_any_command_through_to_django(capsys: pytest.CaptureFixture[str]) -> None:
    # `helpline manage check` is Django's own system check, not the health check.
    assert main(["manage", "check"]) == 0
    assert "System check identified no issues" in capsys.readouterr().out


def test_check_fails_with_pending_migrations_then_passes_after_migrate(tmp_path: Path) -> None:
    # Given a fresh installation, when checking, then the missing migrations are a problem.
    fresh = helpline(tmp_path, "check")
    assert fresh.returncode == 1, fresh.stdout + fresh.stderr
    assert "FAIL  Migrations" in fresh.stdout
    assert "problem(s) found" in fresh.stderr
    # When migrating, then the same check passes.
    migrated = helpline(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    again = helpline(tmp_path, "check")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "All checks passed." in again.stdout


def test_check_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    result = helpline(tmp_path, "check", DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "FAIL  Database" in result.stdout
    assert "skip  Migrations" in result.stdout


def test_check_fails_when_redis_is_configured_but_unreachable(tmp_path: Path) -> None:
    result = helpline(tmp_path, "check", REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "FAIL  Redis" in result.stdout


@pytest.mark.django_db(transaction=True)  # the command closes connections, as in production
def test_createadmin_reads_the_password_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{STRONG}\n"))
    status = main(["createadmin", "--email", "Root@Example.com", "--password-from-stdin"])
    assert status == 0
    admin = User.objects.get(email="root@example.com")
    assert admin.role == Role.ADMIN
    assert admin.check_password(STRONG)
    assert "Administrator root@example.com created." in capsys.readouterr().out


@pytest.mark.django_db
def test_createadmin_rejects_a_weak_password_and_creates_nobody() -> None:
    with pytest.raises(CommandError, match="too short"):
        call_command(
            "createadmin", email="a@example.com", password_from_stdin=True, stdin=io.StringIO("x\n")
        )
    assert not User.objects.exists()


@pytest.mark.django_db
def test_createadmin_refuses_a_taken_email(capsys: pytest.CaptureFixture[str]) -> None:
    call_command(
        "createadmin", email="a@example.com", password_from_stdin=True, stdin=io.StringIO(STRONG)
    )
    with pytest.raises(CommandError, match="exists"):
        call_command(
            "createadmin",
            email="A@example.com",
            password_from_stdin=True,
            stdin=io.StringIO(STRONG),
        )
    assert User.objects.count() == 1


def test_createadmin_without_a_terminal_never_prompts() -> None:
    with pytest.raises(CommandError, match="Not a terminal"):
        call_command("createadmin", stdin=io.StringIO(""))


@pytest.mark.django_db
def test_createadmin_needs_an_email_with_password_from_stdin() -> None:
    with pytest.raises(CommandError, match="--email is required"):
        call_command("createadmin", password_from_stdin=True, stdin=io.StringIO(STRONG))
