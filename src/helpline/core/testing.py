"""Shared pytest fixtures: a small desk built through the real services.

The desk: organizations Acme (plan premium) and Globex; lines L1 and L2 and a Finance
department; agents `agent1` (L1), `agent2` (L2), `finance` (Finance); a supervisor and an
admin; customers `alice` and `bob` at Acme, `carol` at Globex, `dave` with no organization.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from helpline.core.events import DomainEvent


@dataclass
class Desk:
    admin: Any
    supervisor: Any
    agent1: Any
    agent2: Any
    finance: Any
    alice: Any
    bob: Any
    carol: Any
    dave: Any
    acme: Any
    globex: Any
    l1: Any
    l2: Any
    finance_team: Any
    premium: Any


PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (test users only)


def build_desk() -> Desk:
    from helpline.accounts import services as accounts
    from helpline.accounts.models import Role, Team

    admin = accounts.user_create(
        actor=None,
        email="admin@helpline.test",
        role=Role.ADMIN,
        password=PASSWORD,
        display_name="Ada Admin",
    )
    supervisor = accounts.user_create(
        actor=admin,
        email="super@helpline.test",
        role=Role.SUPERVISOR,
        password=PASSWORD,
        display_name="Sam Supervisor",
    )
    agent1 = accounts.user_create(
        actor=admin,
        email="agent1@helpline.test",
        role=Role.AGENT,
        password=PASSWORD,
        display_name="Lena First",
    )
    agent2 = accounts.user_create(
        actor=admin,
        email="agent2@helpline.test",
        role=Role.AGENT,
        password=PASSWORD,
        display_name="Ivan Second",
    )
    finance = accounts.user_create(
        actor=admin,
        email="finance@helpline.test",
        role=Role.AGENT,
        password=PASSWORD,
        display_name="Fay Finance",
    )
    premium = accounts.support_plan_create(
        actor=admin, code="premium", name="Premium", priority_weight=3
    )
    acme = accounts.organization_create(
        actor=admin,
        name="Acme",
        domains=["acme.test"],
        match_by_domain=True,
        plan=premium,
        service_manager=agent2,
    )
    globex = accounts.organization_create(
        actor=admin, name="Globex", domains=["globex.test"], match_by_domain=True
    )
    l1 = accounts.team_create(actor=admin, name="L1", kind=Team.Kind.LINE, level=1, is_default=True)
    l2 = accounts.team_create(actor=admin, name="L2", kind=Team.Kind.LINE, level=2)
    finance_team = accounts.team_create(actor=admin, name="Finance", kind=Team.Kind.DEPARTMENT)
    accounts.team_set_member(actor=admin, team=l1, user=agent1, is_lead=True)
    accounts.team_set_member(actor=admin, team=l2, user=agent2)
    accounts.team_set_member(actor=admin, team=finance_team, user=finance)
    alice = accounts.user_create(
        actor=None, email="alice@acme.test", password=PASSWORD, display_name="Alice Acme"
    )
    bob = accounts.user_create(
        actor=None, email="bob@acme.test", password=PASSWORD, display_name="Bob Acme"
    )
    carol = accounts.user_create(
        actor=None, email="carol@globex.test", password=PASSWORD, display_name="Carol Globex"
    )
    dave = accounts.user_create(
        actor=None, email="dave@example.test", password=PASSWORD, display_name="Dave Solo"
    )
    return Desk(
        admin,
        supervisor,
        agent1,
        agent2,
        finance,
        alice,
        bob,
        carol,
        dave,
        acme,
        globex,
        l1,
        l2,
        finance_team,
        premium,
    )


@pytest.fixture
def desk(db: Any, django_capture_on_commit_callbacks: Any) -> Desk:
    with django_capture_on_commit_callbacks(execute=True):
        return build_desk()


class EventCapture:
    """Collects events emitted while active (from the outbox, in order)."""

    def __init__(self) -> None:
        from helpline.core.models import OutboxEvent

        self._start = set(OutboxEvent.objects.values_list("pk", flat=True))

    def records(self) -> list[Any]:
        from helpline.core.models import OutboxEvent

        return [r for r in OutboxEvent.objects.order_by("pk") if r.pk not in self._start]

    @property
    def types(self) -> list[str]:
        return [r.type for r in self.records()]

    def of(self, event_cls: type[DomainEvent]) -> list[dict[str, Any]]:
        return [r.payload for r in self.records() if r.type == event_cls.type]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: rate-limit counters never leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: Django's test client leaves the language of
    its last request active in the thread (a Chinese page would make later audit notes and
    e-mails Chinese)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def capture_events(db: Any) -> Iterator[EventCapture]:
    yield EventCapture()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any) -> Iterator[None]:
    """Run after-commit hooks (event dispatch) as they would run in production."""
    with django_capture_on_commit_callbacks(execute=True):
        yield
