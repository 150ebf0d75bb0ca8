"""helpline events_catalogue: the domain event catalogue as Markdown.

helpline events_catalogue                          # print it
helpline events_catalogue --write docs/events.md   # replace it between the markers
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpline.core.events import CATALOGUE, DomainEvent

START, END = "<!-- catalogue:start -->\n", "<!-- catalogue:end -->"


def documented_events() -> dict[str, type[DomainEvent]]:
    """The catalogue without the probe events that test modules define."""
    return {
        event_type: cls
        for event_type, cls in CATALOGUE.items()
        if cls.__module__.startswith("helpline.") and ".tests." not in cls.__module__
    }


def catalogue_markdown() -> str:
    """One section per aggregate prefix, one row per event type: version, description,
    payload fields with their types."""
    sections: dict[str, list[str]] = {}
    events = documented_events()
    for event_type in sorted(events):
        cls = events[event_type]
        fields = ", ".join(
            f"`{name}`: {_type_name(info.annotation)}" for name, info in cls.model_fields.items()
        )
        row = f"| `{event_type}` | {cls.version} | {cls.description or '—'} | {fields or '—'} |"
        sections.setdefault(event_type.split(".", 1)[0], []).append(row)
    lines: list[str] = []
    for prefix, rows in sections.items():
        lines += [
            f"### {prefix}",
            "",
            "| type | version | description | payload |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _type_name(annotation: Any) -> str:
    name = getattr(annotation, "__name__", None)
    text = name if name and not getattr(annotation, "__args__", None) else str(annotation)
    return text.replace("typing.", "").replace("|", "\\|")


class Command(BaseCommand):
    help = "Print the catalogue of domain events as Markdown (or write it into a document)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write",
            type=Path,
            default=None,
            help=f"Replace the text between {START.strip()} and {END} in this file.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["write"] is None:
            self.stdout.write(catalogue_markdown(), ending="")
            return
        path: Path = options["write"]
        text = path.read_text()
        if START not in text or END not in text:
            raise CommandError(f"{path} has no catalogue markers.")
        head, rest = text.split(START, 1)
        path.write_text(head + START + catalogue_markdown() + END + rest.split(END, 1)[1])
        self.stdout.write(
            f"Wrote the catalogue of {len(documented_events())} event types to {path}."
        )
