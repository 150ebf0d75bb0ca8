"""The desk's admin screens: permission matrix, changes through the services, CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpline.accounts.models import Organization, Role, Team, TeamMembership, User
from helpline.core.testing import PASSWORD
from helpline.tickets import catalog
from helpline.tickets.models import Category, CustomField, StatusConfig

pytestmark = pytest.mark.django_db


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    assert client.login(username=user.email, password=PASSWORD)
    return client


def admin_urls(desk: Any) -> list[str]:
    category = catalog.category_create(actor=desk.admin, name="Hardware")
    field = catalog.custom_field_create(actor=desk.admin, key="serial", label="Serial", type="text")
    return [
        reverse("tickets:desk_admin"),
        reverse("tickets:desk_admin_users"),
        reverse("tickets:desk_admin_user", args=[desk.alice.pk]),
        reverse("tickets:desk_admin_teams"),
        reverse("tickets:desk_admin_team", args=[desk.l1.pk]),
        reverse("tickets:desk_admin_organizations"),
        reverse("tickets:desk_admin_organization", args=[desk.acme.pk]),
        reverse("tickets:desk_admin_categories"),
        reverse("tickets:desk_admin_category", args=[category.pk]),
        reverse("tickets:desk_admin_custom_fields"),
        reverse("tickets:desk_admin_custom_field", args=[field.pk]),
        reverse("tickets:desk_admin_statuses"),
    ]


def test_permission_matrix(desk: Any) -> None:
    urls = admin_urls(desk)
    anonymous, customer = Client(), client_for(desk.alice)
    agent, supervisor, admin = (
        client_for(desk.agent1),
        client_for(desk.supervisor),
        client_for(desk.admin),
    )
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert customer.get(url).status_code == 404, url
        refused = agent.get(url)
        assert refused.status_code == 403, url
        assert "Not allowed" in refused.content.decode()  # the site's page, not a bare 403
        read_only = supervisor.get(url)
        assert read_only.status_code == 200, url
        assert "only administrators can change them" in read_only.content.decode()
        assert supervisor.post(url, {"name": "Sneaky"}).status_code == 403, url
        full = admin.get(url)
        assert full.status_code == 200, url
        assert "only administrators can change them" not in full.content.decode()
    assert not Team.objects.filter(name="Sneaky").exists()
    # the desk links administration for supervisors and admins only
    assert "Administration" in supervisor.get(reverse("tickets:desk")).content.decode()
    assert "Administration" not in agent.get(reverse("tickets:desk")).content.decode()
    # the tokens page is linked from the admin screens
    assert reverse("integrations:tokens") in admin.get(urls[0]).content.decode()


def test_admin_creates_and_edits_users(desk: Any) -> None:
    client = client_for(desk.admin)
    url = reverse("tickets:desk_admin_users")
    response = client.post(
        url,
        {"email": "new.agent@helpline.test", "display_name": "New Agent", "role": Role.AGENT},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.agent@helpline.test")
    assert user.role == Role.AGENT and user.display_name == "New Agent"
    duplicate = client.post(url, {"email": "new.agent@helpline.test", "role": Role.AGENT})
    assert duplicate.status_code == 200 and "exists" in duplicate.content.decode()
    listing = client.get(url, {"q": "new.agent"}).content.decode()
    assert "New Agent" in listing and "Alice Acme" not in listing
    edit = reverse("tickets:desk_admin_user", args=[user.pk])
    response = client.post(
        edit,
        {
            "display_name": "Renamed",
            "role": Role.SUPERVISOR,
            "organization": "",
            "phone": "+1 555",
            "language": "ru",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.role, user.phone, user.language) == (
        "Renamed",
        Role.SUPERVISOR,
        "+1 555",
        "ru",
    )


def test_admin_manages_teams_and_membership(desk: Any) -> None:
    client = client_for(desk.admin)
    client.post(
        reverse("tickets:desk_admin_teams"),
        {"name": "L3 Engineering", "kind": "line", "level": "3", "department": ""},
    )
    team = Team.objects.get(name="L3 Engineering")
    assert team.level == 3
    refused = client.post(
        reverse("tickets:desk_admin_teams"), {"name": "Broken line", "kind": "line", "level": ""}
    )
    assert "needs a level" in refused.content.decode()
    blank = client.post(reverse("tickets:desk_admin_teams"), {"name": "  ", "kind": "department"})
    assert blank.status_code == 200 and "This field is required." in blank.content.decode()
    assert not Team.objects.filter(name="").exists()
    url = reverse("tickets:desk_admin_team", args=[team.pk])
    client.post(url, {"form": "member", "user": desk.agent2.pk, "is_lead": "on"})
    assert TeamMembership.objects.get(team=team, user=desk.agent2).is_lead
    assert "Ivan Second" in client.get(url).content.decode()
    client.post(url, {"form": "remove", "user": desk.agent2.pk})
    assert not TeamMembership.objects.filter(team=team, user=desk.agent2).exists()
    client.post(url, {"form": "team", "name": "L3 Platform", "level": "3", "description": "db"})
    team.refresh_from_db()
    assert (team.name, team.description) == ("L3 Platform", "db")


def test_admin_manages_organizations(desk: Any) -> None:
    client = client_for(desk.admin)
    client.post(
        reverse("tickets:desk_admin_organizations"),
        {
            "name": "Initech",
            "domains": "initech.test, initech.example",
            "plan": desk.premium.pk,
            "service_manager": desk.agent1.pk,
            "members_see_all_tickets": "on",
        },
    )
    org = Organization.objects.get(name="Initech")
    assert sorted(org.domains) == ["initech.example", "initech.test"]
    assert org.plan == desk.premium and org.service_manager == desk.agent1
    url = reverse("tickets:desk_admin_organization", args=[org.pk])
    client.post(url, {"name": "Initech Ltd", "domains": "", "plan": "", "service_manager": ""})
    org.refresh_from_db()
    assert (org.name, org.domains, org.plan, org.members_see_all_tickets) == (
        "Initech Ltd",
        [],
        None,
        False,
    )


def test_admin_manages_categories_custom_fields_and_statuses(desk: Any) -> None:
    client = client_for(desk.admin)
    client.post(reverse("tickets:desk_admin_categories"), {"name": "Hardware"})
    hardware = Category.objects.get(name="Hardware")
    client.post(
        reverse("tickets:desk_admin_categories"), {"name": "Printers", "parent": hardware.pk}
    )
    assert Category.objects.get(name="Printers").parent == hardware
    client.post(
        reverse("tickets:desk_admin_category", args=[hardware.pk]),
        {"name": "Hardware", "parent": "", "description": "Things"},
    )
    hardware.refresh_from_db()
    assert hardware.description == "Things" and not hardware.is_active

    client.post(
        reverse("tickets:desk_admin_custom_fields"),
        {
            "key": "plan_tier",
            "label": "Tier",
            "type": "choice",
            "choices": "gold, silver",
            "max_length": "100",
            "position": "1",
        },
    )
    field = CustomField.objects.get(key="plan_tier")
    assert field.choices == ["gold", "silver"] and field.type == "choice"
    client.post(
        reverse("tickets:desk_admin_custom_field", args=[field.pk]),
        {
            "label": "Tier",
            "choices": "gold",
            "max_length": "100",
            "position": "2",
            "is_active": "on",
        },
    )
    field.refresh_from_db()
    assert field.choices == ["gold"] and field.position == 2

    client.post(
        reverse("tickets:desk_admin_statuses"),
        {"status": "on_hold", "pauses_sla": "on", "position": "4"},
    )
    assert StatusConfig.objects.get(status="on_hold").pauses_sla
    bad = client.post(
        reverse("tickets:desk_admin_statuses"), {"status": "sleeping", "position": "1"}, follow=True
    )
    assert "Unknown status." in bad.content.decode()


def test_admin_forms_enforce_csrf(desk: Any) -> None:
    client = client_for(desk.admin, enforce_csrf_checks=True)
    url = reverse("tickets:desk_admin_teams")
    assert client.post(url, {"name": "Ops", "kind": "department"}).status_code == 403
    token = client.get(url).cookies["csrftoken"].value
    response = client.post(url, {"name": "Ops", "kind": "department", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Team.objects.filter(name="Ops", kind="department").exists()


def test_edit_screens_come_back_saved_or_show_the_refusal(desk: Any) -> None:
    client = client_for(desk.admin)
    url = reverse("tickets:desk_admin_organization", args=[desk.acme.pk])
    # a refused change shows the edit screen again with the reason; nothing is saved
    refused = client.post(url, {"name": "", "domains": "acme.test"})
    page = refused.content.decode()
    assert refused.status_code == 200 and "This field is required." in page
    assert reverse("tickets:desk_admin_organizations") in page  # the way back
    desk.acme.refresh_from_db()
    assert desk.acme.name == "Acme"
    # a valid one comes back to the same screen, saved
    saved = client.post(url, {"name": "Acme Corp", "domains": "acme.test"}, follow=True)
    assert saved.redirect_chain == [(url, 302)]
    assert "Saved." in saved.content.decode()
    desk.acme.refresh_from_db()
    assert desk.acme.name == "Acme Corp"
