"""Skills-based routing in the database: category, language and product skills."""

from __future__ import annotations

import pytest

from helpline.accounts import services as accounts
from helpline.core.errors import Conflict, PermissionDenied, ValidationError
from helpline.routing import config, services
from helpline.tickets import catalog
from helpline.tickets import services as tickets
from helpline.tickets.models import AuditEntry, Ticket


@pytest.fixture
def setup(desk):
    """L1 on skills routing with three agents: a VPN expert, a Chinese speaker, a generalist."""
    network = catalog.category_create(actor=desk.admin, name="Network")
    vpn_cat = catalog.category_create(actor=desk.admin, name="VPN", parent=network)
    vpn = config.skill_create(actor=desk.admin, name="VPN", kind="category", category=vpn_cat)
    chinese = config.skill_create(actor=desk.admin, name="Chinese", kind="language", value="zh-CN")
    gateway = config.skill_create(
        actor=desk.admin, name="Gateway", kind="product", value="Gateway X"
    )
    expert = accounts.user_create(actor=desk.admin, email="vpn@helpline.test", role="agent")
    speaker = accounts.user_create(actor=desk.admin, email="zh@helpline.test", role="agent")
    for agent in (expert, speaker):
        accounts.team_set_member(actor=desk.admin, team=desk.l1, user=agent)
    config.agent_set_skills(actor=desk.admin, user=expert, skills=[vpn, gateway])
    config.agent_set_skills(actor=desk.supervisor, user=speaker, skills=[chinese])
    services.team_routing_set(actor=desk.admin, team=desk.l1, strategy="skills")
    return {
        "vpn_cat": vpn_cat,
        "expert": expert,
        "speaker": speaker,
        "generalist": desk.agent1,
        "skills": (vpn, chinese, gateway),
    }


@pytest.fixture
def create(desk, django_capture_on_commit_callbacks):
    def run(actor=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = tickets.ticket_create(
                actor=actor or desk.alice, subject="Help", body="Please", **kwargs
            )
        return Ticket.objects.get(pk=ticket.pk)

    return run


def test_category_language_and_product_skills_pick_the_skilled_agent(desk, setup, create):
    assert create(category=setup["vpn_cat"]).assignee_id == setup["expert"].pk
    desk.dave.language = "zh-hans"
    desk.dave.save(update_fields=["language"])
    assert create(actor=desk.dave).assignee_id == setup["speaker"].pk
    product = create(actor=desk.agent1, requester=desk.carol, tags=["gateway-x"])
    assert product.assignee_id == setup["expert"].pk
    entry = AuditEntry.objects.get(ticket=product, action="assigned")
    assert "(skills: Gateway)" in entry.note


def test_candidates_carry_each_agents_skills_read_in_the_same_query(
    desk, setup, django_assert_num_queries
):
    vpn, chinese, gateway = setup["skills"]
    with django_assert_num_queries(1):
        pool = {c.id: c for c in services.candidates(desk.l1.pk, with_skills=True)}
    assert pool[setup["expert"].pk].skills == {vpn.pk, gateway.pk}
    assert pool[setup["speaker"].pk].skills == {chinese.pk}
    assert pool[setup["generalist"].pk].skills == frozenset()
    # without skills asked, none are read
    assert all(not c.skills for c in services.candidates(desk.l1.pk))


def test_routing_row_is_read_with_its_team(desk, setup):
    routing = services.routing_of(desk.l1.pk, lock=True)
    assert routing is not None
    assert (routing.strategy, routing.team_name) == ("skills", desk.l1.name)
    assert routing.strategy_label == "Skills, then least loaded"
    assert services.routing_of(desk.l2.pk) is None


def test_tickets_needing_no_skill_go_to_the_least_loaded(desk, setup, create):
    got = [create().assignee_id for _ in range(6)]
    agents = {setup["expert"].pk, setup["speaker"].pk, setup["generalist"].pk}
    assert set(got) == agents and all(got.count(a) == 2 for a in agents)


def test_skilled_agents_away_means_the_ticket_waits_for_them(
    desk, setup, create, django_capture_on_commit_callbacks
):
    expert = setup["expert"]
    services.agent_set_availability(actor=expert, user=expert, available=False)
    waiting = create(category=setup["vpn_cat"])
    assert waiting.assignee_id is None
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_set_availability(actor=expert, user=expert, available=True)
    assert Ticket.objects.get(pk=waiting.pk).assignee_id == expert.pk


def test_a_skill_nobody_in_the_team_has_falls_back_to_least_loaded(desk, setup, create):
    rare = config.skill_create(actor=desk.admin, name="Klingon", kind="language", value="tlh")
    desk.dave.language = "tlh"
    desk.dave.save(update_fields=["language"])
    ticket = create(actor=desk.dave)
    assert ticket.assignee_id is not None
    note = AuditEntry.objects.get(ticket=ticket, action="assigned").note
    assert "nobody in the team has all of: Klingon" in note
    assert rare.agents.count() == 0


def test_skills_are_respected_over_many_assignments(desk, setup, create):
    vpn = [create(category=setup["vpn_cat"]) for _ in range(8)]
    assert {t.assignee_id for t in vpn} == {setup["expert"].pk}


def test_skill_configuration_is_validated_and_guarded(desk, setup):
    with pytest.raises(ValidationError) as err:
        config.skill_create(actor=desk.admin, name="", kind="mood")
    assert set(err.value.fields) == {"name", "kind"}
    with pytest.raises(ValidationError) as err:
        config.skill_create(actor=desk.admin, name="Cat", kind="category")
    assert "category" in err.value.fields
    with pytest.raises(Conflict):
        config.skill_create(actor=desk.admin, name="VPN", kind="language", value="en")
    with pytest.raises(PermissionDenied):
        config.skill_create(actor=desk.supervisor, name="X", kind="language", value="en")
    with pytest.raises(PermissionDenied):
        config.agent_set_skills(actor=desk.agent1, user=desk.agent1, skills=[])
    with pytest.raises(ValidationError):
        config.agent_set_skills(actor=desk.admin, user=desk.alice, skills=setup["skills"])
    chinese = setup["skills"][1]
    assert chinese.value == "zh"
    assert config.agent_set_skills(actor=desk.admin, user=setup["speaker"], skills=[]) == []
    assert not chinese.agents.exists()


def test_a_ticket_waiting_for_an_absent_skill_does_not_block_the_queue_behind_it(
    desk, setup, create, django_capture_on_commit_callbacks
):
    expert, generalist, speaker = setup["expert"], setup["generalist"], setup["speaker"]
    for agent in (expert, generalist, speaker):
        services.agent_set_availability(actor=agent, user=agent, available=False)
    vpn = create(category=setup["vpn_cat"])  # first in the queue, needs the expert
    plain = create()
    assert vpn.assignee_id is None and plain.assignee_id is None
    with django_capture_on_commit_callbacks(execute=True):
        services.agent_set_availability(actor=generalist, user=generalist, available=True)
    assert Ticket.objects.get(pk=plain.pk).assignee_id == generalist.pk
    assert Ticket.objects.get(pk=vpn.pk).assignee_id is None
