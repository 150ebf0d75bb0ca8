"""The desk's routing screen and the agents' availability switch: access, changes through
the real services, validation errors on the forms, CSRF, query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpline.core.testing import PASSWORD
from helpline.routing import config, selectors, services
from helpline.routing.models import AgentSkill, AgentStatus, RoutingRule, Skill, TeamRouting
from helpline.tickets import catalog

pytestmark = pytest.mark.django_db

PAGE = "/desk/admin/routing/"
HTMX = {"HX-Request": "true"}


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.email, password=PASSWORD)
    return client


def rule(desk: Any, name: str, **values: Any) -> RoutingRule:
    return config.rule_create(actor=desk.admin, name=name, **({"team": desk.l2} | values))


def rule_form(**extra: Any) -> dict[str, Any]:
    return {"name": "VIP", "is_active": "on", **extra}


def strategy_url(team: Any) -> str:
    return reverse("routing:admin_strategy", args=[team.pk])


def agent_url(user: Any) -> str:
    return reverse("routing:admin_agent", args=[user.pk])


def names_in_order() -> list[str]:
    return list(selectors.rule_list().values_list("name", flat=True))


@pytest.fixture
def setup(desk: Any) -> dict[str, Any]:
    network = catalog.category_create(actor=desk.admin, name="Network")
    vpn = config.skill_create(actor=desk.admin, name="VPN", kind="category", category=network)
    chinese = config.skill_create(actor=desk.admin, name="Chinese", kind="language", value="zh")
    first = rule(
        desk,
        "Acme to L2",
        organization_ids=[desk.acme.pk],
        plan_ids=[desk.premium.pk],
        channels=["email"],
    )
    second = rule(desk, "Urgent words", keywords=["outage"], team=None, set_priority="urgent")
    return {"network": network, "vpn": vpn, "chinese": chinese, "rules": [first, second]}


def test_permission_matrix(desk: Any, setup: Any) -> None:
    first = setup["rules"][0]
    pages = [
        PAGE,
        reverse("routing:admin_rule_new"),
        reverse("routing:admin_rule", args=[first.pk]),
    ]
    admin_posts = [
        (strategy_url(desk.l1), {"strategy": "round_robin"}),
        (reverse("routing:admin_rule_new"), rule_form()),
        (reverse("routing:admin_rule", args=[first.pk]), rule_form(name="Sneaky")),
        (reverse("routing:admin_rule_toggle", args=[first.pk]), {}),
        (reverse("routing:admin_rule_move", args=[first.pk]), {"direction": "down"}),
        (reverse("routing:admin_rule_delete", args=[first.pk]), {}),
        (reverse("routing:admin_skills"), {"name": "Go", "kind": "product", "value": "go"}),
        (reverse("routing:admin_skill_delete", args=[setup["vpn"].pk]), {}),
    ]
    anonymous, customer, agent = Client(), client_for(desk.alice), client_for(desk.agent1)
    supervisor, admin = client_for(desk.supervisor), client_for(desk.admin)
    for url in pages:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert customer.get(url).status_code == 404, url
        refused = agent.get(url)
        assert refused.status_code == 403, url
        assert "Not allowed" in refused.content.decode()
        assert supervisor.get(url).status_code == 200, url
        assert admin.get(url).status_code == 200, url
    for url, data in [*admin_posts, (agent_url(desk.agent1), {"max_open": "3"})]:
        assert customer.post(url, data).status_code == 404, url
        assert agent.post(url, data).status_code == 403, url
    for url, data in admin_posts:
        assert supervisor.post(url, data).status_code == 403, url
    # supervisors cannot even open the delete confirmations
    assert supervisor.get(admin_posts[5][0]).status_code == 403
    assert supervisor.get(admin_posts[7][0]).status_code == 403
    # nothing changed
    assert not TeamRouting.objects.exists()
    assert names_in_order() == ["Acme to L2", "Urgent words"]
    assert RoutingRule.objects.filter(is_active=True).count() == 2
    assert sorted(Skill.objects.values_list("name", flat=True)) == ["Chinese", "VPN"]
    assert not AgentStatus.objects.exists()


def test_the_page_shows_every_section(desk: Any, setup: Any) -> None:
    config.agent_set_skills(actor=desk.admin, user=desk.agent1, skills=[setup["vpn"]])
    services.agent_update(actor=desk.admin, user=desk.agent2, max_open=4)
    services.team_routing_set(actor=desk.admin, team=desk.l2, strategy="least_loaded")
    admin = client_for(desk.admin)
    index = admin.get(reverse("tickets:desk_admin")).content.decode()
    assert f'href="{PAGE}"' in index
    page = admin.get(PAGE).content.decode()
    strategies = page[page.index('id="strategy-table"') : page.index('id="rule-table"')]
    l2_row = strategies[strategies.index(f'id="strategy-{desk.l2.pk}"') :]
    assert '<option value="least_loaded" selected>' in l2_row.split("</tr>")[0]
    rules = page[page.index('id="rule-table"') : page.index('id="skill-table"')]
    assert rules.index("Acme to L2") < rules.index("Urgent words")
    assert "Organizations: Acme" in rules and "Channels: E-mail" in rules
    assert "Keywords: outage" in rules and "Priority: Urgent" in rules and "Team: L2" in rules
    skills = page[page.index('id="skill-table"') : page.index('id="agent-table"')]
    assert "VPN" in skills and "Network" in skills and "<code>zh</code>" in skills
    agents = page[page.index('id="agent-table"') :]
    agent1 = agents[agents.index(f'id="agent-{desk.agent1.pk}"') :].split("</tr>")[0]
    assert "Lena First" in agent1 and "L1" in agent1
    assert f'<option value="{setup["vpn"].pk}" selected>' in agent1
    agent2 = agents[agents.index(f'id="agent-{desk.agent2.pk}"') :].split("</tr>")[0]
    assert 'name="max_open"' in agent2 and 'value="4"' in agent2
    # supervisors: agents' rows editable, the rest read only
    page = client_for(desk.supervisor).get(PAGE).content.decode()
    assert "you can change agents' availability, capacity and skills" in page
    assert reverse("routing:admin_rule_new") not in page
    assert reverse("routing:admin_skills") not in page
    assert f'action="{agent_url(desk.agent1)}"' in page
    assert f'id="strategy-{desk.l1.pk}-select" name="strategy" disabled' in page


def test_admin_sets_a_team_strategy_in_place(desk: Any) -> None:
    admin = client_for(desk.admin)
    response = admin.post(strategy_url(desk.l1), {"strategy": "round_robin"}, headers=HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith("<tr") and '<option value="round_robin" selected>' in row
    assert "Saved." in row
    assert TeamRouting.objects.get(team=desk.l1).strategy == "round_robin"
    response = admin.post(strategy_url(desk.l1), {"strategy": "skills"})
    assert response.status_code == 302 and response["Location"].endswith("#strategies")
    assert TeamRouting.objects.get(team=desk.l1).strategy == "skills"
    refused = admin.post(strategy_url(desk.l1), {"strategy": "lottery"}, headers=HTMX)
    assert refused.status_code == 422
    assert "Select a valid choice" in refused.content.decode()
    whole = admin.post(strategy_url(desk.l1), {"strategy": "lottery"})
    assert whole.status_code == 422 and 'id="agent-table"' in whole.content.decode()
    assert TeamRouting.objects.get(team=desk.l1).strategy == "skills"
    assert admin.post(strategy_url(desk.l1).replace(str(desk.l1.pk), "999999")).status_code == 404


def test_admin_creates_and_edits_a_rule(desk: Any, setup: Any) -> None:
    admin = client_for(desk.admin)
    new = reverse("routing:admin_rule_new")
    form = rule_form(
        channels=["email", "web"],
        category_ids=[str(setup["network"].pk)],
        organization_ids=[str(desk.acme.pk)],
        plan_ids=[str(desk.premium.pk)],
        priorities=["high", "urgent"],
        languages="EN, ru",
        sender_domains="@Acme.test, example.test",
        keywords="refund, invoice",
        team=str(desk.finance_team.pk),
        set_priority="high",
        add_tags="vip, billing",
    )
    response = admin.post(new, form)
    assert response.status_code == 302 and response["Location"].endswith("#rules")
    created = RoutingRule.objects.get(name="VIP")
    assert created.channels == ["email", "web"]
    assert created.category_ids == [setup["network"].pk]
    assert created.organization_ids == [desk.acme.pk] and created.plan_ids == [desk.premium.pk]
    assert created.priorities == ["high", "urgent"]
    assert created.languages == ["en", "ru"]
    assert created.sender_domains == ["acme.test", "example.test"]
    assert created.keywords == ["refund", "invoice"]
    assert created.team == desk.finance_team and created.set_priority == "high"
    assert created.add_tags == ["vip", "billing"] and created.is_active
    assert names_in_order()[-1] == "VIP"  # a new rule goes last

    edit = reverse("routing:admin_rule", args=[created.pk])
    page = admin.get(edit).content.decode()
    assert 'value="refund, invoice"' in page
    assert f'<option value="{desk.acme.pk}" selected>' in page
    response = admin.post(edit, {"name": "VIP customers", "add_tags": "vip"})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.name == "VIP customers" and not created.is_active
    assert created.channels == [] and created.team is None and created.add_tags == ["vip"]


def test_rule_errors_are_shown_next_to_the_fields(desk: Any, setup: Any) -> None:
    admin = client_for(desk.admin)
    new = reverse("routing:admin_rule_new")
    # caught by the service: a rule without any action
    response = admin.post(new, rule_form(keywords="refund"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "A rule must set a team, a priority or tags." in page
    assert 'value="refund"' in page  # the input is kept
    # caught by the form: unknown choices
    response = admin.post(new, rule_form(channels=["fax"], team="999999"))
    assert response.status_code == 422
    assert response.content.decode().count("Select a valid choice") == 2
    # caught by the service: bad tag names
    response = admin.post(new, rule_form(add_tags="ok, ???"))
    assert response.status_code == 422
    assert "Tags are words of letters, digits and dashes." in response.content.decode()
    assert not RoutingRule.objects.filter(name="VIP").exists()
    edit = reverse("routing:admin_rule", args=[setup["rules"][0].pk])
    response = admin.post(edit, {"name": ""})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert RoutingRule.objects.get(pk=setup["rules"][0].pk).name == "Acme to L2"
    assert admin.get(reverse("routing:admin_rule", args=[999999])).status_code == 404


def test_toggle_move_and_delete_rules(desk: Any, setup: Any) -> None:
    third = rule(desk, "Third")
    first, second = setup["rules"]
    admin = client_for(desk.admin)
    response = admin.post(reverse("routing:admin_rule_toggle", args=[second.pk]))
    assert response.status_code == 302
    second.refresh_from_db()
    assert not second.is_active
    admin.post(reverse("routing:admin_rule_toggle", args=[second.pk]))
    second.refresh_from_db()
    assert second.is_active

    move = reverse("routing:admin_rule_move", args=[third.pk])
    assert admin.post(move, {"direction": "up"}).status_code == 302
    assert names_in_order() == ["Acme to L2", "Third", "Urgent words"]
    admin.post(move, {"direction": "up"})
    assert names_in_order() == ["Third", "Acme to L2", "Urgent words"]
    admin.post(move, {"direction": "up"})  # already first: nothing to do
    assert names_in_order() == ["Third", "Acme to L2", "Urgent words"]
    admin.post(reverse("routing:admin_rule_move", args=[first.pk]), {"direction": "down"})
    assert names_in_order() == ["Third", "Urgent words", "Acme to L2"]
    page = admin.get(PAGE).content.decode()
    rules = page[page.index('id="rule-table"') : page.index('id="skill-table"')]
    assert rules.index("Third") < rules.index("Urgent words") < rules.index("Acme to L2")

    delete = reverse("routing:admin_rule_delete", args=[first.pk])
    confirm = admin.get(delete)
    assert confirm.status_code == 200
    assert "Delete the routing rule “Acme to L2”?" in confirm.content.decode()
    assert RoutingRule.objects.filter(pk=first.pk).exists()  # asking deletes nothing
    assert admin.post(delete).status_code == 302
    assert names_in_order() == ["Third", "Urgent words"]


def test_skills_are_created_and_deleted(desk: Any, setup: Any) -> None:
    admin = client_for(desk.admin)
    url = reverse("routing:admin_skills")
    response = admin.post(url, {"name": "Gateway", "kind": "product", "value": "Gateway X"})
    assert response.status_code == 302 and response["Location"].endswith("#skills")
    gateway = Skill.objects.get(name="Gateway")
    assert (gateway.kind, gateway.value, gateway.category) == ("product", "gateway-x", None)
    response = admin.post(
        url, {"name": "Net", "kind": "category", "category": str(setup["network"].pk)}
    )
    assert Skill.objects.get(name="Net").category == setup["network"]

    missing = admin.post(url, {"name": "Russian", "kind": "language"})
    assert missing.status_code == 422
    assert "A language or product skill needs a value." in missing.content.decode()
    no_category = admin.post(url, {"name": "Printers", "kind": "category"})
    assert no_category.status_code == 422
    assert "A category skill needs a category." in no_category.content.decode()
    taken = admin.post(url, {"name": "VPN", "kind": "language", "value": "vi"})
    assert taken.status_code == 422
    assert "A skill or rule with this name exists." in taken.content.decode()
    assert Skill.objects.count() == 4

    config.agent_set_skills(actor=desk.admin, user=desk.agent1, skills=[gateway])
    delete = reverse("routing:admin_skill_delete", args=[gateway.pk])
    assert "Agents who have it lose it." in admin.get(delete).content.decode()
    assert admin.post(delete).status_code == 302
    assert not Skill.objects.filter(pk=gateway.pk).exists()
    assert not AgentSkill.objects.filter(user=desk.agent1).exists()


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_agent_rows_save_availability_capacity_and_skills(desk: Any, setup: Any, who: str) -> None:
    client = client_for(getattr(desk, who))
    url = agent_url(desk.agent1)
    data = {"max_open": "3", "skills": [str(setup["vpn"].pk), str(setup["chinese"].pk)]}
    response = client.post(url, data, headers=HTMX)  # "available" unticked: away
    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith("<tr") and "Saved." in row and 'value="3"' in row
    status = AgentStatus.objects.get(user=desk.agent1)
    assert (status.available, status.max_open) == (False, 3)
    assert sorted(s.name for s in selectors.agent_routing([desk.agent1.pk])[0].skills) == [
        "Chinese",
        "VPN",
    ]
    response = client.post(url, {"available": "on", "max_open": ""})
    assert response.status_code == 302 and response["Location"].endswith("#agents")
    status.refresh_from_db()
    assert (status.available, status.max_open) == (True, None)
    assert not AgentSkill.objects.filter(user=desk.agent1).exists()

    refused = client.post(url, {"available": "on", "max_open": "0"}, headers=HTMX)
    assert refused.status_code == 422
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()
    refused = client.post(url, {"max_open": "2", "skills": ["999999"]})
    assert refused.status_code == 422 and 'id="strategy-table"' in refused.content.decode()
    status.refresh_from_db()
    assert (status.available, status.max_open) == (True, None)
    assert client.post(agent_url(desk.alice), {"available": "on"}).status_code == 404


def test_an_agent_row_is_saved_whole_or_not_at_all(desk: Any, setup: Any) -> None:
    # Given agent1 away, at most 2 open tickets, with the VPN skill
    vpn, chinese = setup["vpn"], setup["chinese"]
    services.agent_update(
        actor=desk.admin, user=desk.agent1, available=False, max_open=2, skill_ids=[vpn.pk]
    )

    def state() -> tuple[bool, int | None, list[str]]:
        row = selectors.agent_routing([desk.agent1.pk])[0]
        return row.available, row.max_open, [skill.name for skill in row.skills]

    client = client_for(desk.supervisor)
    full = {"available": "on", "max_open": "5", "skills": [str(chinese.pk)]}
    # When a row changing all three has one refused part (with HTMX and without)
    for bad in ({"max_open": "0"}, {"max_open": "many"}, {"skills": [str(chinese.pk), "999999"]}):
        for headers in (HTMX, {}):
            response = client.post(agent_url(desk.agent1), {**full, **bad}, headers=headers)
            # Then it is refused and nothing of it is stored
            assert response.status_code == 422, bad
            assert state() == (False, 2, ["VPN"]), bad
    # When the row is valid, all three are stored
    response = client.post(agent_url(desk.agent1), full, headers=HTMX)
    assert response.status_code == 200 and "Saved." in response.content.decode()
    assert state() == (True, 5, ["Chinese"])


def test_posts_need_the_csrf_token(desk: Any, setup: Any) -> None:
    admin = client_for(desk.admin, enforce_csrf_checks=True)
    first = setup["rules"][0]
    posts = [
        (strategy_url(desk.l1), {"strategy": "round_robin"}),
        (reverse("routing:admin_rule_new"), rule_form()),
        (reverse("routing:admin_rule_toggle", args=[first.pk]), {}),
        (reverse("routing:admin_rule_move", args=[first.pk]), {"direction": "down"}),
        (reverse("routing:admin_rule_delete", args=[first.pk]), {}),
        (reverse("routing:admin_skills"), {"name": "Go", "kind": "product", "value": "go"}),
        (reverse("routing:admin_skill_delete", args=[setup["vpn"].pk]), {}),
        (agent_url(desk.agent1), {"max_open": "3"}),
        (reverse("routing:availability"), {"available": "0"}),
    ]
    for url, data in posts:
        assert admin.post(url, data).status_code == 403, url
    assert not TeamRouting.objects.exists() and not AgentStatus.objects.exists()
    assert names_in_order() == ["Acme to L2", "Urgent words"]
    assert RoutingRule.objects.filter(is_active=True).count() == 2
    assert Skill.objects.count() == 2
    page = admin.get(PAGE).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = admin.post(
        strategy_url(desk.l1), {"strategy": "round_robin", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert TeamRouting.objects.get(team=desk.l1).strategy == "round_robin"


def test_agents_switch_their_own_availability(
    desk: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(desk.agent1)
    queue = reverse("tickets:desk")
    page = client.get(queue).content.decode()
    switch = page[page.index('id="availability"') :].split("</form>")[0]
    assert ">Available</span>" in switch and "Set me away" in switch
    url = reverse("routing:availability")
    response = client.post(url, {"available": "0", "next": queue + "?view=mine"})
    assert response.status_code == 302 and response["Location"] == queue + "?view=mine"
    assert not selectors.is_available(desk.agent1)
    page = client.get(queue).content.decode()
    assert ">Away</span>" in page and "Set me available" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"available": "1", "next": "https://evil.test/"}, headers=HTMX)
    assert response.status_code == 200
    switch = response.content.decode()
    assert switch.startswith('<form id="availability"') and ">Available</span>" in switch
    assert f'name="next" value="{queue}"' in switch  # an outside address is not followed
    assert selectors.is_available(desk.agent1)
    assert client.get(url).status_code == 405
    assert client_for(desk.alice).post(url, {"available": "0"}).status_code == 404
    assert not AgentStatus.objects.filter(user=desk.alice).exists()


def test_page_query_count_does_not_grow(desk: Any, setup: Any) -> None:
    from helpline.accounts import services as accounts

    admin = client_for(desk.admin)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(PAGE).status_code == 200
        return len(queries)

    few = count()
    for number in range(5):
        user = accounts.user_create(
            actor=desk.admin, email=f"a{number}@helpline.test", role="agent"
        )
        accounts.team_set_member(actor=desk.admin, team=desk.l1, user=user)
        config.agent_set_skills(actor=desk.admin, user=user, skills=[setup["vpn"]])
        services.agent_update(actor=desk.admin, user=user, max_open=number + 1)
        rule(desk, f"Rule {number}", organization_ids=[desk.globex.pk], plan_ids=[desk.premium.pk])
        config.skill_create(
            actor=desk.admin, name=f"Skill {number}", kind="product", value=f"p{number}"
        )
    assert count() == few


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ["Стратегии команд", "Правила распределения", "Навыки", "Агенты", "Отойти"]),
        ("zh-hans", ["团队策略", "分配规则", "技能", "客服", "设为离开"]),
    ],
)
def test_the_page_speaks_russian_and_chinese(
    desk: Any, setup: Any, language: str, words: list[str]
) -> None:
    from helpline.accounts import services as accounts

    accounts.user_update(actor=desk.admin, user=desk.admin, language=language)
    page = client_for(desk.admin).get(PAGE).content.decode()
    for word in words:
        assert word in page
    for english in ("Team strategies", "Routing rules", "Set me away", "Open tickets"):
        assert english not in page
