"""Automatic assignment in the database: strategies, availability, capacity, re-offering."""

from __future__ import annotations

import pytest
from django.db import transaction

from helpline.accounts import services as accounts
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.routing import config, selectors, services
from helpline.routing.models import AgentStatus, TeamRouting
from helpline.tickets import services as tickets
from helpline.tickets.models import AuditEntry, Ticket


@pytest.fixture
def team(desk):
    """L1 with three agents (agent1 from the desk, two more) on round robin."""
    extra = [
        accounts.user_create(actor=desk.admin, email=f"l1-{n}@helpline.test", role="agent")
        for n in (2, 3)
    ]
    for agent in extra:
        accounts.team_set_member(actor=desk.admin, team=desk.l1, user=agent)
    services.team_routing_set(actor=desk.admin, team=desk.l1, strategy="round_robin")
    return [desk.agent1, *extra]


@pytest.fixture
def create(desk, django_capture_on_commit_callbacks):
    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = tickets.ticket_create(
                actor=desk.alice, subject="Printer", body="Broken", **kwargs
            )
        return Ticket.objects.get(pk=ticket.pk)

    return run


def test_round_robin_assigns_in_turn_with_an_audited_reason(desk, team, create):
    made = [create() for _ in range(6)]
    assert [t.team_id for t in made] == [desk.l1.pk] * 6
    got = [t.assignee_id for t in made]
    assert sorted(got[:3]) == sorted(a.pk for a in team)
    assert got[3:] == got[:3]
    entry = AuditEntry.objects.filter(ticket=made[0], action="assigned").get()
    assert entry.actor is None and "Round robin" in entry.note and "L1" in entry.note


def test_away_agents_get_nothing_and_come_back_to_waiting_work(
    desk, team, create, django_capture_on_commit_callbacks
):
    for agent in team:
        services.agent_set_availability(actor=agent, user=agent, available=False)
    waiting = [create() for _ in range(2)]
    assert all(t.assignee_id is None for t in waiting)
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_set_availability(actor=team[1], user=team[1], available=True)
    assert {t.assignee_id for t in Ticket.objects.filter(pk__in=[t.pk for t in waiting])} == {
        team[1].pk
    }


def test_least_loaded_respects_capacity(desk, team, create):
    services.team_routing_set(actor=desk.admin, team=desk.l1, strategy="least_loaded")
    for agent in team:
        services.agent_update(actor=desk.supervisor, user=agent, max_open=2)
    made = [create() for _ in range(7)]
    loads = [sum(t.assignee_id == a.pk for t in made) for a in team]
    assert loads == [2, 2, 2]
    assert made[-1].assignee_id is None  # everybody is full: it waits


def test_manual_teams_wait_and_transfers_are_routed(
    desk, team, create, django_capture_on_commit_callbacks
):
    services.team_routing_set(actor=desk.admin, team=desk.l1, strategy="manual")
    ticket = create()
    assert ticket.assignee_id is None
    services.team_routing_set(actor=desk.admin, team=desk.l2, strategy="round_robin")
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_transfer(actor=desk.agent1, ticket=ticket, team=desk.l2, note="x")
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (desk.l2.pk, desk.agent2.pk)


def test_permissions(desk, team):
    with pytest.raises(PermissionDenied):
        services.team_routing_set(actor=desk.agent1, team=desk.l1, strategy="round_robin")
    with pytest.raises(PermissionDenied):
        services.agent_set_availability(actor=desk.agent1, user=desk.agent2, available=False)
    with pytest.raises(ValidationError):
        services.agent_set_availability(actor=desk.admin, user=desk.alice, available=False)
    with pytest.raises(ValidationError):
        services.team_routing_set(actor=desk.admin, team=desk.l1, strategy="random")
    with pytest.raises(PermissionDenied):
        services.agent_update(actor=desk.agent1, user=desk.agent1, max_open=3)
    assert TeamRouting.objects.get(team=desk.l1).strategy == "round_robin"


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded"])
def test_a_batch_of_new_tickets_is_assigned_as_one_by_one(
    desk, team, strategy, django_capture_on_commit_callbacks
):
    # Given a team where one agent takes at most one more ticket and one is away
    from helpline.tickets.bulk import NewTicket, ticket_create_many

    services.team_routing_set(actor=desk.admin, team=desk.l1, strategy=strategy)
    services.agent_update(actor=desk.supervisor, user=team[0], max_open=1)
    services.agent_set_availability(actor=team[2], user=team[2], available=False)

    def make(count):
        with django_capture_on_commit_callbacks(execute=True):
            made = ticket_create_many(
                actor=desk.agent1,
                items=[
                    NewTicket(subject=f"P{n}", body="x", requester=desk.alice) for n in range(count)
                ],
            )
        return list(Ticket.objects.filter(pk__in=[t.pk for t in made]).order_by("pk"))

    # When five tickets are created one by one (then rolled back) and then in one batch
    with transaction.atomic():
        one_by_one = [make(1)[0] for _ in range(5)]
        expected = [t.assignee_id for t in one_by_one]
        expected_last = TeamRouting.objects.get(team=desk.l1).last_assignee_id
        transaction.set_rollback(True)
    batch = make(5)
    # Then the batch's assignments are the same: capacity and turns respected
    assert [t.assignee_id for t in batch] == expected
    assert TeamRouting.objects.get(team=desk.l1).last_assignee_id == expected_last
    assert expected.count(team[0].pk) == 1 and team[2].pk not in expected
    assert expected.count(team[1].pk) == 4
    reasons = AuditEntry.objects.filter(ticket__in=batch, action="assigned")
    assert reasons.count() == 5 and all("L1" in entry.note for entry in reasons)


def agent_state(user):
    """(available, max_open, skill names) as routing reads them."""
    row = selectors.agent_routing([user.pk])[0]
    return row.available, row.max_open, sorted(skill.name for skill in row.skills)


@pytest.fixture
def skilled(desk, team):
    """agent1 away, at most 2 open tickets, with the VPN skill; Chinese exists too."""
    vpn = config.skill_create(actor=desk.admin, name="VPN", kind="product", value="vpn")
    chinese = config.skill_create(actor=desk.admin, name="Chinese", kind="language", value="zh")
    services.agent_update(
        actor=desk.supervisor, user=desk.agent1, available=False, max_open=2, skill_ids=[vpn.pk]
    )
    for agent in team[1:]:
        services.agent_set_availability(actor=agent, user=agent, available=False)
    return {"vpn": vpn, "chinese": chinese}


def test_agent_update_applies_availability_capacity_and_skills_together(
    desk, skilled, create, django_capture_on_commit_callbacks
):
    # Given a ticket waiting in L1 while everybody is away
    waiting = create()
    assert waiting.assignee_id is None
    # When a supervisor sets agent1 available, with room for 5 and the Chinese skill only
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_update(
            actor=desk.supervisor,
            user=desk.agent1,
            available=True,
            max_open=5,
            skill_ids=[skilled["chinese"].pk],
        )
    # Then all three are stored and the waiting ticket is offered to agent1 at once
    assert agent_state(desk.agent1) == (True, 5, ["Chinese"])
    assert Ticket.objects.get(pk=waiting.pk).assignee_id == desk.agent1.pk
    # And what is not given stays as it is
    services.agent_update(actor=desk.admin, user=desk.agent1, max_open=None)
    assert agent_state(desk.agent1) == (True, None, ["Chinese"])


@pytest.mark.parametrize(
    ("actor", "changes", "error", "fields"),
    [
        ("supervisor", {"max_open": 0}, ValidationError, {"max_open": "invalid"}),
        ("supervisor", {"skill_ids": "unknown"}, ValidationError, {"skill_ids": "not_found"}),
        (
            "supervisor",
            {"max_open": -1, "skill_ids": "unknown"},
            ValidationError,
            {"max_open": "invalid", "skill_ids": "not_found"},
        ),
        ("agent1", {"max_open": 5}, PermissionDenied, None),
        ("agent1", {"skill_ids": "chinese"}, PermissionDenied, None),
        ("agent2", {}, PermissionDenied, None),
    ],
)
def test_a_refused_part_of_an_agent_update_changes_nothing(
    desk, skilled, create, django_capture_on_commit_callbacks, actor, changes, error, fields
):
    # Given a ticket waiting for agent1, who is away
    waiting = create()
    before = agent_state(desk.agent1)
    skill_ids = {"unknown": [skilled["chinese"].pk, 424242], "chinese": [skilled["chinese"].pk]}
    if "skill_ids" in changes:
        changes = {**changes, "skill_ids": skill_ids[changes["skill_ids"]]}
    # When an update that sets agent1 available has a part that is refused
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(error) as refused,
    ):
        services.agent_update(
            actor=getattr(desk, actor), user=desk.agent1, available=True, **changes
        )
    # Then nothing of it is stored and no work is offered
    if fields is not None:
        assert refused.value.fields == fields
    assert agent_state(desk.agent1) == before == (False, 2, ["VPN"])
    assert callbacks == []
    assert Ticket.objects.get(pk=waiting.pk).assignee_id is None


def test_agent_update_is_for_agents_only(desk):
    with pytest.raises(ValidationError) as refused:
        services.agent_update(actor=desk.admin, user=desk.alice, available=False, max_open=3)
    assert refused.value.fields == {"user": "not_agent"}
    assert not AgentStatus.objects.filter(user=desk.alice).exists()
