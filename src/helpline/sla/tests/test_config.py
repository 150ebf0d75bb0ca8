"""SLA settings services: what they refuse."""

from __future__ import annotations

import pytest

from helpline.core.errors import ValidationError
from helpline.sla import config


def test_settings_services_name_the_fields_they_do_not_know(desk, office, standard) -> None:
    changes = [
        lambda: config.calendar_update(actor=desk.admin, calendar=office, colour="red"),
        lambda: config.policy_create(actor=desk.admin, name="Gold", colour="red"),
        lambda: config.policy_update(actor=desk.admin, policy=standard, colour="red"),
    ]
    for change in changes:
        with pytest.raises(ValidationError) as refused:
            change()
        assert refused.value.fields == {"colour": "unknown"}
    office.refresh_from_db()
    standard.refresh_from_db()
    assert (office.name, standard.name) == ("Berlin office", "Standard")
