"""Mailbox credentials at rest (IMAP secrets), encrypted as helpline.core.secrets says."""

from __future__ import annotations

from helpline.core.secrets import SecretBox

_box = SecretBox("helpline.mail.secrets")
encrypt = _box.encrypt
decrypt = _box.decrypt
