"""`helpline demo`: a realistic desk built through the services, loaded once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from helpline.accounts.models import Organization, Role, SupportPlan, Team, TeamMembership, User
from helpline.accounts.services import user_create
from helpline.core.management import demo
from helpline.core.models import OutboxEvent
from helpline.tickets import services as tickets
from helpline.tickets.models import Category, Message, Status, Ticket

pytestmark = pytest.mark.django_db

MODELS = (User, Team, TeamMembership, SupportPlan, Organization, Category, Ticket, Message)


def counts() -> dict[str, int]:
    counted = {model.__name__: model.objects.count() for model in MODELS}
    counted["events"] = OutboxEvent.objects.count()
    return counted


def test_demo_builds_a_desk_with_lines_departments_and_multilingual_tickets(
    capsys: pytest.CaptureFixture[str], django_capture_on_commit_callbacks: Any
) -> None:
    call_command("demo")

    lines = Team.objects.filter(kind=Team.Kind.LINE).order_by("level")
    assert [team.level for team in lines] == [1, 2, 3]
    assert lines[0].is_default
    departments = set(Team.objects.filter(kind=Team.Kind.DEPARTMENT).values_list("name", flat=True))
    assert departments == {"Technical", "Finance", "Sales"}
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    assert set(SupportPlan.objects.values_list("name", flat=True)) == {"Basic", "Premium"}
    assert Organization.objects.filter(service_manager__isnull=False).exists()
    assert Ticket.objects.count() == len(demo.STORIES) == 30
    # Every state of the status machine is represented, and tickets reached L2 and L3.
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    assert Ticket.objects.filter(team__level=2).exists()
    assert Ticket.objects.filter(team__level=3).exists()
    subjects = list(Ticket.objects.values_list("subject", flat=True))
    assert any(re.search("[\u0430-\u044f]", s) for s in subjects)
    assert any(re.search("[\u4e00-\u9fff]", s) for s in subjects)
    assert Message.objects.filter(kind=Message.Kind.INTERNAL).exists()
    # Everything went through services: each change left an event in the outbox.
    assert OutboxEvent.objects.filter(type="ticket.escalated").count() >= 5
    assert "admin@helpline.example" in capsys.readouterr().out
    # Routing is configured: a Chinese request lands with the Chinese-speaking agent, and an
    # invoice question in Russian goes to Finance by rule.
    people = {user.email: user for user in User.objects.all()}
    lina, ivan = people["li.na@lotus.example"], people["ivan@globus.example"]
    with django_capture_on_commit_callbacks(execute=True):
        chinese = tickets.ticket_create(actor=lina, subject="打印机坏了", body="请帮忙")
    assert Ticket.objects.get(pk=chinese.pk).assignee == people["wei@helpline.example"]
    invoice = tickets.ticket_create(actor=ivan, subject="Вопрос", body="Пришлите счёт за май")
    assert invoice.team is not None and invoice.team.name == "Finance"


def test_demo_logins_work_with_the_documented_password() -> None:
    call_command("demo", verbosity=0)
    for _role, email, _name in demo.demo_logins():
        assert authenticate(email=email, password=demo.DEMO_PASSWORD) is not None, email
    customer = User.objects.get(email="anna@globus.example")
    assert not customer.has_usable_password()


def test_a_second_run_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a loaded demo desk
    call_command("demo", verbosity=0)
    before = counts()
    capsys.readouterr()
    # When loading it again
    call_command("demo")
    # Then nothing is added and the command says so
    assert counts() == before
    assert "already loaded" in capsys.readouterr().out


def test_demo_refuses_a_database_that_has_other_users() -> None:
    user_create(actor=None, email="real@customer.example", role=Role.ADMIN, password=None)
    with pytest.raises(CommandError, match="already has users"):
        call_command("demo")
    assert User.objects.count() == 1


def test_if_empty_skips_a_database_with_other_users(capsys: pytest.CaptureFixture[str]) -> None:
    user_create(actor=None, email="real@customer.example", role=Role.ADMIN, password=None)
    call_command("demo", if_empty=True)
    assert "Skipped" in capsys.readouterr().out
    assert not demo.demo_present()
    assert Ticket.objects.count() == 0
