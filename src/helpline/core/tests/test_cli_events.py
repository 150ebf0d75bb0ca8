"""`helpline events_catalogue` (docs/events.md) and `helpline replay_events`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpline.accounts.models import Role
from helpline.accounts.services import user_create
from helpline.core.management.commands.events_catalogue import (
    END,
    START,
    catalogue_markdown,
    documented_events,
)
from helpline.core.models import OutboxEvent
from helpline.core.tests.test_events import ProbeHappened

EVENTS_DOC = Path(__file__).resolve().parents[4] / "docs" / "events.md"


def test_the_catalogue_lists_every_event_type_with_its_description() -> None:
    markdown = catalogue_markdown()
    events = documented_events()
    assert "ticket.created" in events
    for event_type, cls in events.items():
        assert f"| `{event_type}` | {cls.version} | {cls.description}" in markdown
    # Probe events of the test suite are not part of the product's catalogue.
    assert ProbeHappened.type not in events
    assert ProbeHappened.type not in markdown


def test_docs_events_md_holds_the_current_catalogue() -> None:
    text = EVENTS_DOC.read_text()
    committed = text.split(START, 1)[1].split(END, 1)[0]
    assert committed == catalogue_markdown(), (
        "docs/events.md is out of date: run "
        "`.venv/bin/helpline events_catalogue --write docs/events.md` and commit it."
    )


def test_write_replaces_only_the_text_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "events.md"
    doc.write_text(f"# Intro\n{START}stale\n{END}\nOutro\n")
    call_command("events_catalogue", write=doc, verbosity=0)
    assert doc.read_text() == f"# Intro\n{START}{catalogue_markdown()}{END}\nOutro\n"


def test_write_refuses_a_file_without_markers(tmp_path: Path) -> None:
    doc = tmp_path / "other.md"
    doc.write_text("no markers here\n")
    with pytest.raises(CommandError, match="no catalogue markers"):
        call_command("events_catalogue", write=doc)
    assert doc.read_text() == "no markers here\n"


@pytest.mark.django_db
def test_replay_reports_then_dispatches_undispatched_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an event whose dispatch never ran (its on-commit hook did not fire)
    user_create(actor=None, email="someone@example.com", role=Role.ADMIN)
    event = OutboxEvent.objects.get(type="user.created")
    assert event.dispatched_at is None
    # When asking for the state, then it is reported
    call_command("replay_events")
    assert "Undispatched events: 1" in capsys.readouterr().out
    # When replaying everything, then it is dispatched
    call_command("replay_events", all=True)
    assert "Dispatched 1 event(s); 0 still failing." in capsys.readouterr().out
    event.refresh_from_db()
    assert event.dispatched_at is not None
    call_command("replay_events")
    assert "Undispatched events: 0" in capsys.readouterr().out
