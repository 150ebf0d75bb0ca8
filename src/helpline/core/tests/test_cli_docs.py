"""The README documents every environment variable that settings.py reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
SETTINGS = ROOT / "src" / "helpline" / "settings.py"
README = ROOT / "README.md"
READS = re.compile(r"""(?:os\.environ\.get|env_bool|env_list)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def test_every_environment_variable_of_the_settings_is_in_the_readme() -> None:
    names = set(READS.findall(SETTINGS.read_text()))
    assert {"DATABASE_URL", "REDIS_URL", "HELPLINE_BEHIND_PROXY"} <= names  # the regex works
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    undocumented = sorted(name for name in names if f"| `{name}` |" not in table)
    assert not undocumented, f"add these to README.md's Configuration table: {undocumented}"
