"""Every UI and e-mail string is translated into Russian and Simplified Chinese, the
compiled catalogues match the sources, and pages render localized dates."""

from __future__ import annotations

import ast
import gettext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from helpline.core.testing import PASSWORD

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ["ru", "zh_Hans"]


def _unquote(line: str) -> str:
    return ast.literal_eval(line)


def parse_po(path: Path) -> list[dict[str, Any]]:
    """Entries of a .po file: msgid, msgid_plural, msgstr (list), flags, obsolete."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {}
    field = ""

    def finish() -> None:
        if "msgid" in entry:
            entries.append(dict(entry))
        entry.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            if "msgid" in entry:
                finish()
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith("msgctxt "):
            if "msgid" in entry:
                finish()
            field = "msgctxt"
            entry[field] = _unquote(line[8:])
        elif line.startswith("msgid_plural "):
            field = "msgid_plural"
            entry[field] = _unquote(line[13:])
        elif line.startswith("msgid "):
            if "msgid" in entry:
                finish()
            field = "msgid"
            entry[field] = _unquote(line[6:])
        elif line.startswith("msgstr"):
            key, _sep, value = line.partition(" ")
            field = key
            entry.setdefault("msgstr", {})[key] = _unquote(value)
        elif line.startswith('"'):
            if field.startswith("msgstr"):
                entry["msgstr"][field] += _unquote(line)
            else:
                entry[field] += _unquote(line)
    finish()
    return entries


def catalogue(language: str) -> list[dict[str, Any]]:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    return [e for e in parse_po(path) if e["msgid"] and not e.get("obsolete")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(language: str) -> None:
    entries = catalogue(language)
    assert len(entries) > 100
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    assert untranslated == [], f"{len(untranslated)} untranslated in {language}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_source(language: str) -> None:
    """The committed .mo is compiled from the committed .po (no gettext tools at runtime)."""
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in catalogue(language):
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if "msgid_plural" in entry:
            assert (
                compiled.ngettext(msgid, entry["msgid_plural"], 1) == entry["msgstr"]["msgstr[0]"]
            ), msgid
        else:
            assert compiled.gettext(msgid) == entry["msgstr"]["msgstr"], msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language: str) -> None:
    import re

    pattern = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{ *\w+ *\}\}")
    for entry in catalogue(language):
        expected = sorted(set(pattern.findall(entry.get("msgid_plural") or entry["msgid"])))
        for value in entry["msgstr"].values():
            found = sorted(set(pattern.findall(value)))
            if "msgid_plural" in entry and found != expected:
                # a singular form may leave the count out ("one ticket")
                assert set(found) <= set(expected), (entry["msgid"], value)
            else:
                assert found == expected, (entry["msgid"], value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "April 1, 2026, 4:30"), ("ru", "1 апреля 2026 г. 4:30"), ("zh-hans", "2026年4月1日")],
)
def test_portal_dates_follow_language_and_time_zone(desk: Any, language: str, shown: str) -> None:
    from helpline.accounts import services as accounts
    from helpline.tickets import services

    accounts.user_update(
        actor=desk.alice, user=desk.alice, language=language, time_zone="Asia/Shanghai"
    )
    ticket = services.ticket_create(actor=desk.alice, subject="Dates", body="When?")
    created = datetime(2026, 3, 31, 20, 30, tzinfo=UTC)  # 1 April 04:30 in Shanghai
    type(ticket).objects.filter(pk=ticket.pk).update(created_at=created)
    client = Client()
    assert client.login(username=desk.alice.email, password=PASSWORD)
    body = client.get(reverse("tickets:portal_request", args=[ticket.pk])).content.decode()
    assert f'lang="{language}"' in body
    assert "2026-04-01T04:30:00+08:00" in body
    assert shown in body


@pytest.mark.django_db
@pytest.mark.parametrize("template", ["verify", "account_exists", "magic_link", "password_reset"])
@pytest.mark.parametrize("language", ["ru", "zh-hans"])
def test_account_e_mails_have_no_english_left(desk: Any, template: str, language: str) -> None:
    from helpline.accounts.mails import render_mail

    context = {
        "user": desk.alice,
        "link": "https://help.example/x/",
        "reset_link": "https://help.example/r/",
        "minutes": 15,
        "uid": "MQ",
        "token": "set-password",
    }
    english = render_mail(language="en", template=template, context=context)
    translated = render_mail(language=language, template=template, context=context)
    assert translated[0] != english[0]
    for line in english[1].splitlines():
        if line.strip() and "://" not in line:
            assert line not in translated[1], line
