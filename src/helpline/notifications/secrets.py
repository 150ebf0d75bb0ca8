"""SMTP passwords at rest, encrypted as helpline.core.secrets says."""

from __future__ import annotations

from helpline.core.secrets import SecretBox

_box = SecretBox("helpline.notifications.secrets")
encrypt = _box.encrypt
decrypt = _box.decrypt
