"""Run the `helpline` command in a child process on its own embedded desk (a temp folder).

The child never sees the test run's DATABASE_URL / REDIS_URL or its inline-task settings: it
is a fresh installation with its own SQLite files, whatever database the suite runs on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ISOLATED = ("DATABASE_URL", "REDIS_URL", "HELPLINE_TASKS_IMMEDIATE", "HELPLINE_SECRET_KEY")


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ISOLATED}
    env.update(
        DJANGO_SETTINGS_MODULE="helpline.settings",
        HELPLINE_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def helpline(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "helpline.cli", *args],
        env=child_env(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
