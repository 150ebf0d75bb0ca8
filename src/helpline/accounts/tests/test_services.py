"""Account services: users, organizations, teams, lines; each change emits an event."""

from __future__ import annotations

import pytest

from helpline.accounts import events, services
from helpline.accounts.models import Role, Team
from helpline.core.errors import Conflict, PermissionDenied, ValidationError
from helpline.core.testing import Desk


def test_customer_joins_organization_by_domain_only_when_enabled(
    desk: Desk, capture_events
) -> None:
    joined = services.user_create(actor=None, email="Eve@ACME.test")
    services.organization_update(actor=desk.admin, organization=desk.acme, match_by_domain=False)
    stranger = services.user_create(actor=None, email="frank@acme.test")
    assert joined.organization == desk.acme and joined.email == "eve@acme.test"
    assert stranger.organization is None
    created = capture_events.of(events.UserCreated)
    assert [c["organization_id"] for c in created] == [desk.acme.pk, None]
    assert capture_events.of(events.OrganizationUpdated)[0]["changes"] == {
        "match_by_domain": [True, False]
    }


def test_user_create_validates(desk: Desk) -> None:
    with pytest.raises(Conflict):
        services.user_create(actor=None, email="ALICE@acme.test")
    with pytest.raises(ValidationError) as bad_email:
        services.user_create(actor=None, email="not-an-address")
    assert bad_email.value.fields == {"email": "invalid"}
    with pytest.raises(ValidationError) as weak:
        services.user_create(actor=None, email="x@y.test", password="123")
    assert weak.value.fields == {"password": "weak"}
    with pytest.raises(PermissionDenied):
        services.user_create(actor=desk.supervisor, email="boss@y.test", role=Role.ADMIN)


def test_user_update_rules(desk: Desk, capture_events) -> None:
    services.user_update(actor=desk.alice, user=desk.alice, display_name="Alice A.", language="ru")
    with pytest.raises(PermissionDenied):
        services.user_update(actor=desk.alice, user=desk.alice, role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        services.user_update(actor=desk.alice, user=desk.bob, display_name="Bobby")
    with pytest.raises(ValidationError):
        services.user_update(actor=desk.admin, user=desk.bob, password="x")
    services.user_update(actor=desk.admin, user=desk.agent1, role=Role.SUPERVISOR)
    desk.agent1.refresh_from_db()
    assert desk.agent1.role == Role.SUPERVISOR and desk.agent1.sees_all_tickets
    changes = [c["changes"] for c in capture_events.of(events.UserUpdated)]
    assert changes == [
        {"display_name": ["Alice Acme", "Alice A."], "language": ["", "ru"]},
        {"role": ["agent", "supervisor"]},
    ]


def test_organization_rules(desk: Desk) -> None:
    with pytest.raises(Conflict):
        services.organization_create(actor=desk.admin, name="acme")
    with pytest.raises(ValidationError):
        services.organization_create(actor=desk.admin, name="Initech", service_manager=desk.alice)
    with pytest.raises(PermissionDenied):
        services.organization_create(actor=desk.agent1, name="Initech")
    org = services.organization_create(
        actor=desk.admin, name="Initech", domains=["@Initech.TEST", " ", "initech.test"]
    )
    assert org.domains == ["initech.test"]


def test_teams_lines_and_membership(desk: Desk, capture_events) -> None:
    with pytest.raises(ValidationError):
        services.team_create(actor=desk.admin, name="L9", kind=Team.Kind.LINE)
    with pytest.raises(Conflict):
        services.team_create(actor=desk.admin, name="Another L1", kind=Team.Kind.LINE, level=1)
    with pytest.raises(ValidationError):
        services.team_set_member(actor=desk.admin, team=desk.l1, user=desk.alice)
    l3 = services.team_create(actor=desk.admin, name="L3", kind=Team.Kind.LINE, level=3)
    assert services.next_line(desk.l1) == desk.l2
    assert services.next_line(desk.l2) == l3
    assert services.next_line(l3) is None
    assert services.next_line(desk.finance_team) is None
    # an agent may be in several teams
    services.team_set_member(actor=desk.admin, team=l3, user=desk.agent2, is_lead=True)
    assert set(desk.agent2.teams.all()) == {desk.l2, l3}
    services.team_set_member(actor=desk.admin, team=l3, user=desk.agent2, member=False)
    assert set(desk.agent2.teams.all()) == {desk.l2}
    changes = capture_events.of(events.TeamMembershipChanged)
    assert [(c["member"], c["is_lead"]) for c in changes] == [(True, True), (False, False)]


def test_only_one_default_team(desk: Desk) -> None:
    services.team_create(
        actor=desk.admin, name="Triage", kind=Team.Kind.DEPARTMENT, is_default=True
    )
    assert list(Team.objects.filter(is_default=True).values_list("name", flat=True)) == ["Triage"]


def test_customers_made_together_are_what_user_create_makes(desk: Desk, capture_events) -> None:
    # given addresses of new customers, one at a domain an organization claims
    single = services.user_create(actor=None, email=" Gus@ACME.test ", display_name=" Gus ")
    # when two are built and saved together
    built = [
        services.customer_build(email=" Hal@ACME.test ", display_name=" Hal "),
        services.customer_build(email="ivy@example.test"),
    ]
    assert all(user.pk is None for user in built)
    saved = services.customers_create_many(users=built)
    # then each is what `user_create` makes, with its event
    for user in saved:
        user.refresh_from_db()
    fields = ("role", "organization_id", "is_active", "is_staff", "phone", "language")
    assert [getattr(saved[0], f) for f in fields] == [getattr(single, f) for f in fields]
    assert (saved[0].email, saved[0].username, saved[0].display_name) == (
        "hal@acme.test",
        "hal@acme.test",
        "Hal",
    )
    assert not saved[0].has_usable_password() and not single.has_usable_password()
    assert saved[1].organization_id is None
    created = capture_events.of(events.UserCreated)
    assert [c["user_id"] for c in created] == [single.pk, saved[0].pk, saved[1].pk]
    assert [c["organization_id"] for c in created] == [desk.acme.pk, desk.acme.pk, None]
    with pytest.raises(ValidationError):
        services.customer_build(email="not-an-address")
    assert services.customers_create_many(users=[]) == []


def test_updates_keep_the_rules_of_creation(desk: Desk, capture_events) -> None:
    # organizations: an agent as service manager, domains cleaned, on update as on create
    with pytest.raises(ValidationError) as manager:
        services.organization_update(
            actor=desk.admin, organization=desk.acme, service_manager=desk.alice
        )
    assert manager.value.fields == {"service_manager": "not_agent"}
    services.organization_update(
        actor=desk.admin, organization=desk.acme, domains=["@ACME.test", " ", "acme.test"]
    )
    desk.acme.refresh_from_db()
    assert desk.acme.domains == ["acme.test"]
    # teams: a name free of case, a line level free in its department, a department
    # without a level; a line may move into another department at the same level
    with pytest.raises(Conflict) as name:
        services.team_create(actor=desk.admin, name=" finance ", kind=Team.Kind.DEPARTMENT)
    assert name.value.fields == {"name": "taken"}
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as no_name:
            services.team_create(actor=desk.admin, name=blank, kind=Team.Kind.DEPARTMENT)
        assert no_name.value.fields == {"name": "required"}
    with pytest.raises(ValidationError) as no_new_name:
        services.team_update(actor=desk.admin, team=desk.l2, name=" ")
    assert no_new_name.value.fields == {"name": "required"}
    with pytest.raises(ValidationError) as level:
        services.team_create(actor=desk.admin, name="Sales", kind=Team.Kind.DEPARTMENT, level=1)
    assert level.value.fields == {"level": "not_allowed"}
    with pytest.raises(ValidationError) as not_department:
        services.team_update(actor=desk.admin, team=desk.l2, department=desk.l1)
    assert not_department.value.fields == {"department": "invalid"}
    with pytest.raises(ValidationError) as department_level:
        services.team_update(actor=desk.admin, team=desk.finance_team, level=2)
    assert department_level.value.fields == {"level": "not_allowed"}
    moved = services.team_update(actor=desk.admin, team=desk.l2, department=desk.finance_team)
    assert (moved.level, moved.department) == (2, desk.finance_team)
    with pytest.raises(Conflict) as line:
        services.team_create(
            actor=desk.admin,
            name="Finance L2",
            kind=Team.Kind.LINE,
            level=2,
            department=desk.finance_team,
        )
    assert line.value.fields == {"level": "taken"}
    top = services.team_create(actor=desk.admin, name="Top L2", kind=Team.Kind.LINE, level=2)
    assert top.department is None
    assert [c["changes"] for c in capture_events.of(events.TeamUpdated)] == [
        {"department": [None, desk.finance_team.pk]}
    ]
