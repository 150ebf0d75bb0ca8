"""The routing screen and the availability switch in a real browser: an admin saves a team's
strategy and an agent's row in place (HTMX swaps the row, the page stays), adds a rule, and
an agent sets themselves away from the desk header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpline.routing import selectors
from helpline.routing.models import AgentStatus, RoutingRule, TeamRouting

from .conftest import in_thread
from .test_portal_and_desk import check_accessible_and_narrow, shoot, sign_in

pytestmark = pytest.mark.browser


def test_admin_configures_routing_and_an_agent_goes_away(
    browser_desk: Any, open_context: Any, screenshots: Path
) -> None:
    desk = browser_desk
    page = open_context().new_page()
    sign_in(page, desk.admin)
    page.goto("/desk/admin/")
    page.click("nav .tabs a[href='/desk/admin/routing/']")
    page.wait_for_url("**/desk/admin/routing/")
    page.evaluate("window.marker = 'same page'")

    row = page.locator(f"#strategy-{desk.l1.pk}")
    row.locator("select").select_option("least_loaded")
    row.locator("button").click()
    page.locator(f"#strategy-{desk.l1.pk} [role=status]").wait_for()
    strategy = in_thread(lambda: TeamRouting.objects.get(team=desk.l1).strategy)
    assert strategy == "least_loaded"

    agent = page.locator(f"#agent-{desk.agent1.pk}")
    agent.locator("input[name=max_open]").fill("2")
    agent.locator("input[name=available]").uncheck()
    agent.locator("button").click()
    page.locator(f"#agent-{desk.agent1.pk} [role=status]").wait_for()
    status = in_thread(lambda: AgentStatus.objects.get(user=desk.agent1))
    assert (status.available, status.max_open) == (False, 2)
    assert page.evaluate("window.marker") == "same page"  # swapped in place, not reloaded

    page.click("a[href='/desk/admin/routing/rules/new/']")
    page.fill("#rule-name", "Acme to L2")
    page.select_option("#rule-organization_ids", str(desk.acme.pk))
    page.select_option("#rule-team", str(desk.l2.pk))
    page.click("form.card button.btn-primary")
    page.wait_for_url("**/desk/admin/routing/#rules")
    assert "Acme to L2" in page.locator("#rule-table").inner_text()
    rule = in_thread(lambda: RoutingRule.objects.get(name="Acme to L2"))
    assert (rule.organization_ids, rule.team_id) == ([desk.acme.pk], desk.l2.pk)
    page.goto("/desk/admin/routing/")
    check_accessible_and_narrow(page)
    shoot(page, screenshots, "routing-admin")

    agent_page = open_context().new_page()
    sign_in(agent_page, desk.agent2)
    switch = agent_page.locator("#availability")
    assert switch.locator("#availability-state").inner_text() == "Available"
    switch.locator("button").click()
    agent_page.locator("#availability-state", has_text="Away").wait_for()
    assert not in_thread(selectors.is_available, desk.agent2)
