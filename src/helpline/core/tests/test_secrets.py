"""Stored credentials: each kind under its own key, and values stored by earlier releases
still readable."""

from __future__ import annotations

import pytest
from django.test import override_settings

from helpline.mail import secrets as mail_secrets
from helpline.notifications import secrets as notification_secrets

# Encrypted under SECRET_KEY = KEY by the code before the two apps shared core.secrets.
KEY = "helpline-secrets-fixture-key"
MAIL_STORED = (
    "gAAAAABrBEst_VlQEMAGiVVNSZUzSuQkgJWL4-U_H6rNahiHT7VSnS2wWpTPHxRHsRO1PV5AnM2YyGQkcXBe202Q"
    "mjTSGU0xb_fRxio7lV4iz-CjDrrq2iU="
)
NOTIFICATIONS_STORED = (
    "gAAAAABrBEst51gN7OICrGDhYNHRWraT11MkjRpcUGookcPxU5rDyS_xEUXX0-v4oVpjOlO_KZ9cvCnI3eWC8AE2"
    "D_jjICX8JROUXzbmWsfvgsTl5mSyIYs="
)


@override_settings(SECRET_KEY=KEY)
def test_values_stored_before_still_decrypt_and_only_with_their_own_key() -> None:
    assert mail_secrets.decrypt(MAIL_STORED) == "imap-pass-Пароль-密码"
    assert notification_secrets.decrypt(NOTIFICATIONS_STORED) == "smtp-pass-Пароль-密码"
    assert mail_secrets.decrypt(NOTIFICATIONS_STORED) == ""
    assert notification_secrets.decrypt(MAIL_STORED) == ""


@pytest.mark.parametrize("secrets", [mail_secrets, notification_secrets])
def test_round_trip_and_unreadable_after_secret_key_changes(secrets) -> None:
    stored = secrets.encrypt("s3cret")
    assert stored != "s3cret" and secrets.decrypt(stored) == "s3cret"
    assert secrets.encrypt("") == "" and secrets.decrypt("") == ""
    assert secrets.decrypt("not a token") == ""
    with override_settings(SECRET_KEY="another-key"):
        assert secrets.decrypt(stored) == ""
