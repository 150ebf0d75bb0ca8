"""Settings for the test suite: the normal settings with tasks run inline."""

import os

os.environ.setdefault("HELPLINE_TASKS_IMMEDIATE", "1")
os.environ.setdefault(
    "HELPLINE_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789"
)

from helpline.settings import *  # noqa: F403
from helpline.settings import HUEY

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
HUEY = {**HUEY, "immediate": True}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# One test database per pytest process (pytest-xdist adds its own _gwN suffix), so that test
# runs started side by side on one machine never share, and break, each other's database.
_RUN = os.environ.setdefault("HELPLINE_TEST_RUN_ID", str(os.getpid()))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{_RUN}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_helpline_{_RUN}"}  # noqa: F405
