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
