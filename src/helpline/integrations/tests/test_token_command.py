from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from helpline.integrations import services
from helpline.integrations.models import ApiToken


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_a_working_token_once_then_list_and_revoke(desk):
    out, err = _run(
        "create",
        "--user",
        "AGENT1@helpline.test",
        "--name",
        "CI",
        "--scopes",
        "tickets:read,tickets:write",
        "--expires-days",
        "30",
    )
    plaintext = out.strip()
    user, token = services.token_authenticate(plaintext, None)
    assert user == desk.agent1
    assert sorted(token.scopes) == ["tickets:read", "tickets:write"]
    assert token.expires_at is not None
    assert "not shown again" in err

    listing, _ = _run("list")
    secret = plaintext.split("_", 2)[2]
    assert secret not in listing
    assert f"{token.pk}\tagent1@helpline.test\tCI" in listing
    assert "active" in listing

    _run("revoke", str(token.pk))
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert "revoked" in _run("list", "--user", "agent1@helpline.test")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["create", "--user", "nobody@x.test", "--name", "n", "--scopes", "tickets:read"],
            "No user",
        ),
        (
            ["create", "--user", "alice@acme.test", "--name", "n", "--scopes", "users:read"],
            "may not",
        ),
        (["create", "--user", "agent1@helpline.test", "--name", "n", "--scopes", "x"], "Unknown"),
        (["revoke", "999"], "No token"),
    ],
)
def test_errors_are_command_errors(desk, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)
