"""Credentials at rest (mailbox IMAP secrets, SMTP passwords): encrypted with Fernet under a
key derived from SECRET_KEY and the kind of credential, so each kind has its own key."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@dataclass(frozen=True)
class SecretBox:
    """Encrypts and decrypts one kind of stored credential. `purpose` is part of the key:
    changing it makes every value stored under it unreadable."""

    purpose: str

    def _fernet(self) -> Fernet:
        salt = self.purpose.encode() + b":"
        digest = hashlib.sha256(salt + settings.SECRET_KEY.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, value: str) -> str:
        return self._fernet().encrypt(value.encode()).decode() if value else ""

    def decrypt(self, value: str) -> str:
        """The plaintext, or "" when it cannot be decrypted (SECRET_KEY changed)."""
        if not value:
            return ""
        try:
            return self._fernet().decrypt(value.encode()).decode()
        except (InvalidToken, ValueError):
            return ""
