"""Routing rules at ticket creation: first match wins, every condition kind, a visible reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpline.accounts import services as accounts
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.routing import config, rules
from helpline.tickets import catalog
from helpline.tickets import services as tickets
from helpline.tickets.events import TicketCreated
from helpline.tickets.models import AuditEntry, Category, Priority


@pytest.fixture
def network(desk):
    parent = catalog.category_create(actor=desk.admin, name="Network")
    child = catalog.category_create(actor=desk.admin, name="VPN", parent=parent)
    return parent, child


def audit_note(ticket):
    return AuditEntry.objects.get(ticket=ticket, action="routed").note


def test_a_keyword_rule_routes_to_its_team_and_says_so(desk):
    config.rule_create(actor=desk.admin, name="VPN", keywords=["vpn"], team=desk.l2)
    routed = tickets.ticket_create(
        actor=desk.alice, subject="Cannot connect", body="The VPN-client hangs at login"
    )
    unrouted = tickets.ticket_create(actor=desk.alice, subject="Printer", body="openvpnx broke")
    assert routed.team_id == desk.l2.pk
    assert audit_note(routed) == "Routed to L2 by rule 'VPN'"
    assert unrouted.team_id == desk.l1.pk  # the default team: "vpn" is not a word start there
    assert not AuditEntry.objects.filter(ticket=unrouted, action="routed").exists()


def test_chinese_and_russian_keywords_match_inside_unspaced_text(desk):
    config.rule_create(actor=desk.admin, name="Billing zh", keywords=["发票"], team=desk.l2)
    config.rule_create(actor=desk.admin, name="Billing ru", keywords=["счёт"], team=desk.l2)
    zh = tickets.ticket_create(actor=desk.alice, subject="请帮忙", body="我需要上个月的发票。")
    ru = tickets.ticket_create(actor=desk.alice, subject="Вопрос", body="Пришлите СЧЁТ, пожалуйста")
    assert zh.team_id == ru.team_id == desk.l2.pk


def test_the_first_matching_rule_wins_and_inactive_rules_are_skipped(desk):
    first = config.rule_create(
        actor=desk.admin, name="Acme", organization_ids=[desk.acme.pk], team=desk.finance_team
    )
    config.rule_create(actor=desk.admin, name="Everything", team=desk.l2)
    assert tickets.ticket_create(actor=desk.alice, subject="a", body="b").team_id == (
        desk.finance_team.pk
    )
    assert tickets.ticket_create(actor=desk.carol, subject="a", body="b").team_id == desk.l2.pk
    config.rule_update(actor=desk.admin, rule=first, is_active=False)
    assert tickets.ticket_create(actor=desk.alice, subject="a", body="b").team_id == desk.l2.pk


def test_all_conditions_of_a_rule_must_hold(desk, network):
    _parent, vpn = network
    config.rule_create(
        actor=desk.admin,
        name="Premium network by mail",
        category_ids=[network[0].pk],
        plan_ids=[desk.premium.pk],
        channels=["email"],
        sender_domains=["ACME.test"],
        team=desk.l2,
    )

    def create(actor, channel, category):
        return tickets.ticket_create(
            actor=desk.agent1,
            requester=actor,
            subject="s",
            body="b",
            channel=channel,
            category=category,
        )

    assert create(desk.alice, "email", vpn).team_id == desk.l2.pk  # subcategory counts
    assert create(desk.alice, "web", vpn).team_id == desk.l1.pk  # channel differs
    assert create(desk.carol, "email", vpn).team_id == desk.l1.pk  # plan and domain differ
    assert create(desk.alice, "email", None).team_id == desk.l1.pk  # no category


def test_language_and_priority_conditions(desk):
    desk.dave.language = "zh-hans"
    desk.dave.save(update_fields=["language"])
    config.rule_create(actor=desk.admin, name="Chinese", languages=["zh"], team=desk.l2)
    config.rule_create(
        actor=desk.admin, name="Urgent", priorities=["urgent"], team=desk.finance_team
    )
    assert tickets.ticket_create(actor=desk.dave, subject="s", body="b").team_id == desk.l2.pk
    urgent = tickets.ticket_create(
        actor=desk.agent1, requester=desk.carol, subject="s", body="b", priority="urgent"
    )
    assert urgent.team_id == desk.finance_team.pk


def test_a_rule_raises_priority_and_adds_tags_even_for_customers(desk):
    config.rule_create(
        actor=desk.admin,
        name="Outage",
        keywords=["outage", "down"],
        set_priority="high",
        add_tags=["outage", "Major Incident"],
    )
    ticket = tickets.ticket_create(actor=desk.alice, subject="Site is down", body="since 9:00")
    assert ticket.priority == Priority.HIGH
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["major-incident", "outage"]
    assert ticket.team_id == desk.l1.pk
    assert audit_note(ticket) == (
        "Priority raised to High; tagged outage, major-incident by rule 'Outage'"
    )
    # a priority the agent set higher is kept
    urgent = tickets.ticket_create(
        actor=desk.agent1, requester=desk.alice, subject="down", body="x", priority="urgent"
    )
    assert urgent.priority == Priority.URGENT


def test_an_explicit_team_beats_the_rule_and_the_rule_beats_a_mailbox_team(desk):
    config.rule_create(actor=desk.admin, name="All", team=desk.l2)
    explicit = tickets.ticket_create(
        actor=desk.agent1, requester=desk.alice, subject="s", body="b", team=desk.finance_team
    )
    mailbox = tickets.ticket_create(
        actor=desk.alice, subject="s", body="b", routed_team=desk.finance_team
    )
    assert explicit.team_id == desk.finance_team.pk
    assert not AuditEntry.objects.filter(ticket=explicit, action="routed").exists()
    assert mailbox.team_id == desk.l2.pk


def test_a_routed_ticket_emits_its_routed_team(desk, capture_events):
    config.rule_create(actor=desk.admin, name="All", team=desk.l2)
    ticket = tickets.ticket_create(actor=desk.alice, subject="s", body="b")
    assert capture_events.of(TicketCreated)[-1]["team_id"] == ticket.team_id == desk.l2.pk


def test_invalid_rules_are_refused_with_the_fields_named(desk, network):
    with pytest.raises(ValidationError) as err:
        config.rule_create(
            actor=desk.admin,
            name=" ",
            channels=["fax"],
            priorities=["asap"],
            category_ids=[99999],
            keywords=[""],
            set_priority="now",
        )
    assert set(err.value.fields) >= {
        "name",
        "channels",
        "priorities",
        "category_ids",
        "keywords",
        "set_priority",
    }
    with pytest.raises(ValidationError) as err:
        config.rule_create(actor=desk.admin, name="No action", keywords=["x"])
    assert "team" in err.value.fields
    with pytest.raises(ValidationError):
        config.rule_create(actor=desk.admin, name="x", team=desk.l2, bogus=1)
    with pytest.raises(PermissionDenied):
        config.rule_create(actor=desk.supervisor, name="x", team=desk.l2)


def test_reorder_changes_which_rule_wins(desk):
    a = config.rule_create(actor=desk.admin, name="A", team=desk.l2)
    b = config.rule_create(actor=desk.admin, name="B", team=desk.finance_team)
    assert tickets.ticket_create(actor=desk.alice, subject="s", body="b").team_id == desk.l2.pk
    config.rules_reorder(actor=desk.admin, rule_ids=[b.pk, a.pk])
    assert tickets.ticket_create(actor=desk.alice, subject="s", body="b").team_id == (
        desk.finance_team.pk
    )
    with pytest.raises(ValidationError):
        config.rules_reorder(actor=desk.admin, rule_ids=[b.pk])


def test_keyword_matching_rules():
    assert rules.keyword_matches(["VPN"], "my vpn is slow")
    assert rules.keyword_matches(["vpn"], "VPN-client")
    assert not rules.keyword_matches(["vpn"], "openvpnx")
    assert rules.keyword_matches(["打印机"], "我的打印机坏了")
    assert not rules.keyword_matches(["  "], "anything")


def test_rule_evaluation_costs_one_query(desk, django_assert_num_queries):
    config.rule_create(actor=desk.admin, name="VPN", keywords=["vpn"], team=desk.l2)
    draft = rules.Draft(subject="vpn", text="", channel="web", priority=1)
    with django_assert_num_queries(1):
        outcome = rules.evaluate(draft)
    assert outcome is not None and outcome.team_id == desk.l2.pk


def test_deleted_categories_in_a_rule_do_not_break_creation(desk, network):
    parent, _vpn = network
    config.rule_create(actor=desk.admin, name="Net", category_ids=[parent.pk], team=desk.l2)
    other = catalog.category_create(actor=desk.admin, name="Other")
    Category.objects.filter(pk=network[1].pk).delete()
    assert (
        tickets.ticket_create(actor=desk.alice, subject="s", body="b", category=other).team_id
        == desk.l1.pk
    )


def test_customers_of_an_org_matched_by_a_new_user(desk):
    config.rule_create(
        actor=desk.admin, name="Globex", organization_ids=[desk.globex.pk], team=desk.l2
    )
    newcomer = accounts.user_create(actor=None, email="new@globex.test")
    assert tickets.ticket_create(actor=newcomer, subject="s", body="b").team_id == desk.l2.pk


def test_the_desk_ticket_page_shows_why_the_ticket_was_routed(client, desk):
    config.rule_create(actor=desk.admin, name="VPN", keywords=["vpn"], team=desk.l2)
    ticket = tickets.ticket_create(actor=desk.alice, subject="VPN down", body="help")
    client.force_login(desk.agent2)
    page = client.get(reverse("tickets:desk_ticket", args=[ticket.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "routed the ticket" in text and "Routed to L2 by rule &#x27;VPN&#x27;" in text
