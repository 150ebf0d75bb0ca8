"""List endpoints stay N+1-free: the query count does not grow with the rows listed."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.accounts import services
from helpline.accounts.models import Role, Team
from helpline.core.api_testing import api_call


def _queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        api_call(client, "get", path, expect=200)
    return len(captured)


def test_list_queries_do_not_grow_with_rows(client, desk):
    client.force_login(desk.admin)
    paths = ["/api/v1/users", "/api/v1/organizations", "/api/v1/teams"]
    before = {path: _queries(client, path) for path in paths}
    # Given many more users, organizations, teams and memberships
    for index in range(10):
        org = services.organization_create(actor=desk.admin, name=f"Org {index}", plan=desk.premium)
        agent = services.user_create(
            actor=desk.admin, email=f"a{index}@helpline.test", role=Role.AGENT
        )
        services.user_create(actor=desk.admin, email=f"c{index}@x.test", organization=org)
        team = services.team_create(actor=desk.admin, name=f"D{index}", kind=Team.Kind.DEPARTMENT)
        services.team_set_member(actor=desk.admin, team=team, user=agent)
    after = {path: _queries(client, path) for path in paths}
    assert after == before, (before, after)
    # session + user + the page (+ one prefetch of team memberships)
    assert after == {"/api/v1/users": 3, "/api/v1/organizations": 3, "/api/v1/teams": 4}
