"""Queue order: SLA urgency and customer weight, with an ageing bound nobody waits past.

The simulation serves a long day one ticket at a time, always taking the head of the queue.
The documented guarantee (docs/routing.md, "Queue order"): a ticket arriving at `a` is taken
at most `B + W(a + B)` after it arrived, where `W(t)` is the work the desk has in hand at `t`
(the same under every order that keeps the agent busy), and it is never overtaken by a
ticket that arrived more than `B` after it.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpline.accounts import services as accounts
from helpline.routing import ordering, services
from helpline.tickets import services as tickets
from helpline.tickets.models import Priority, Ticket

DAY_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
B_MINUTES = 240


@dataclass(frozen=True)
class Kind:
    name: str
    priority: int
    plan_weight: int | None
    years: int
    sla_minutes: int


# Urgent, premium, customers for three years: weight 1 (no allowance).
VIP = Kind("vip", Priority.URGENT, 4, 3, 60)
# Normal, a small plan, one year: weight 0.3; their SLA deadline comes before their allowance.
MID = Kind("mid", Priority.NORMAL, 2, 1, 120)
# Low, no plan, new: weight 0 (the whole allowance B).
LOW = Kind("low", Priority.LOW, None, 0, 480)


@dataclass(frozen=True)
class Sim:
    id: int
    kind: Kind
    arrival: float  # minutes since the start of the day
    service: float
    key: float  # the queue key, in minutes since the start of the day


def at(minutes: float) -> datetime:
    return DAY_START + timedelta(minutes=minutes)


def minutes(moment: datetime) -> float:
    return (moment - DAY_START) / timedelta(minutes=1)


def make_ticket(number: int, kind: Kind, arrival: float, service: float) -> Sim:
    arrived = at(arrival)
    queued = ordering.queue_at(
        arrival=arrived,
        priority=kind.priority,
        plan_weight=kind.plan_weight,
        customer_since=arrived - timedelta(days=365 * kind.years + 1) if kind.years else None,
    )
    key = ordering.queue_key(
        created_at=arrived, queue_at=queued, sla_due_at=at(arrival + kind.sla_minutes)
    )
    return Sim(number, kind, arrival, service, minutes(key))


def long_day(seed: int) -> list[Sim]:
    """Ten business hours; one agent takes 3-5 minutes a ticket (about 15 an hour).

    All day: a low ticket an hour, two mid ones. Morning (0-3 h) and evening (8-10 h): five
    and four urgent premium ones an hour. Afternoon (3-8 h), an outage: every half hour a
    burst of urgent premium tickets (28 an hour for 15 minutes, then 4 an hour), more than
    the agent alone can take. Over the day the agent is busy about 90% of the time."""
    rng = random.Random(seed)
    arrivals: list[tuple[float, Kind]] = []

    def stream(kind: Kind, per_hour: float, start: float, end: float) -> None:
        gap = 60 / per_hour
        moment = start + rng.uniform(0, gap)
        while moment < end:
            arrivals.append((moment, kind))
            moment += gap * rng.uniform(0.5, 1.5)

    stream(LOW, 1, 0, 600)
    stream(MID, 2, 0, 600)
    stream(VIP, 5, 0, 180)
    for burst in range(180, 480, 30):
        stream(VIP, 28, burst, burst + 15)
        stream(VIP, 4, burst + 15, burst + 30)
    stream(VIP, 4, 480, 600)
    arrivals.sort(key=lambda item: item[0])
    return [
        make_ticket(number, kind, moment, rng.uniform(3, 5))
        for number, (moment, kind) in enumerate(arrivals)
    ]


def serve(day: list[Sim], key: Callable[[Sim], tuple]) -> dict[int, float]:
    """One agent, never idle while tickets wait, takes the head of the queue by `key`.
    The moment each ticket is taken."""
    waiting: list[tuple[tuple, int]] = []
    taken: dict[int, float] = {}
    clock = 0.0
    upcoming = 0
    while upcoming < len(day) or waiting:
        if not waiting:
            clock = max(clock, day[upcoming].arrival)
        while upcoming < len(day) and day[upcoming].arrival <= clock:
            heapq.heappush(waiting, (key(day[upcoming]), upcoming))
            upcoming += 1
        _key, index = heapq.heappop(waiting)
        taken[day[index].id] = clock
        clock += day[index].service
    return taken


def by_queue_key(ticket: Sim) -> tuple:
    return (ticket.key, ticket.id)


def by_weight_only(ticket: Sim) -> tuple:
    """No ageing: the heaviest first (priority, then plan and tenure), then the oldest."""
    weight = ordering.weight(
        priority=ticket.kind.priority,
        plan_weight=ticket.kind.plan_weight,
        customer_since=at(ticket.arrival) - timedelta(days=365 * ticket.kind.years + 1)
        if ticket.kind.years
        else None,
        now=at(ticket.arrival),
    )
    return (-weight, ticket.arrival, ticket.id)


def work_in_hand(day: list[Sim], moment: float) -> float:
    """W(moment): the minutes of work that arrived by `moment` and is not done at `moment`
    (worked out first come first served; every order that keeps the agent busy has the
    same)."""
    clock = 0.0
    for ticket in day:
        if ticket.arrival > moment:
            break
        clock = max(clock, ticket.arrival) + ticket.service
    return max(0.0, clock - moment)


def bound(day: list[Sim], ticket: Sim) -> float:
    return B_MINUTES + work_in_hand(day, ticket.arrival + B_MINUTES)


@pytest.fixture
def ageing(settings):
    settings.HELPLINE_QUEUE_AGEING_BOUND_MINUTES = B_MINUTES


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_starvation_over_a_long_simulated_day(ageing, seed):
    day = long_day(seed)
    assert len(day) > 100
    busy = sum(ticket.service for ticket in day) / 600
    assert 0.85 < busy < 1  # the arrival rate is a bit under the service rate
    taken = serve(day, by_queue_key)
    waits = {ticket.id: taken[ticket.id] - ticket.arrival for ticket in day}
    # Every ticket is taken within its documented bound ...
    for ticket in day:
        assert waits[ticket.id] <= bound(day, ticket), ticket
    # ... and never after a ticket that arrived more than B after it.
    later_first = float("inf")  # earliest take among tickets arriving after the cutoff
    by_arrival = sorted(day, key=lambda ticket: ticket.arrival, reverse=True)
    cutoffs = sorted(day, key=lambda ticket: ticket.arrival + B_MINUTES, reverse=True)
    position = 0
    for ticket in cutoffs:
        while position < len(by_arrival) and (
            by_arrival[position].arrival > ticket.arrival + B_MINUTES
        ):
            later_first = min(later_first, taken[by_arrival[position].id])
            position += 1
        assert taken[ticket.id] < later_first, ticket
    # Weight still matters: urgent premium tickets wait far less than low ones.
    mean = {
        kind: sum(waits[t.id] for t in day if t.kind is kind) / sum(t.kind is kind for t in day)
        for kind in (VIP, MID, LOW)
    }
    assert mean[VIP] < mean[MID] < mean[LOW]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_weight_order_without_ageing_starves_low_tickets(ageing, seed):
    day = long_day(seed)
    taken = serve(day, by_weight_only)
    starved = [t for t in day if t.kind is LOW and taken[t.id] - t.arrival > bound(day, t)]
    assert starved
    # ... while the same day in queue order keeps everyone within the bound.
    fair = serve(day, by_queue_key)
    assert all(fair[t.id] - t.arrival <= bound(day, t) for t in starved)


def test_queue_key_is_sla_urgency_within_the_ageing_window():
    arrival = at(0)
    queued = at(200)
    # no SLA deadline: the allowance
    assert ordering.queue_key(created_at=arrival, queue_at=queued, sla_due_at=None) == queued
    # an earlier deadline moves the ticket up ...
    assert ordering.queue_key(created_at=arrival, queue_at=queued, sla_due_at=at(30)) == at(30)
    # ... never before its arrival (a deadline already past) ...
    assert ordering.queue_key(created_at=arrival, queue_at=queued, sla_due_at=at(-5)) == arrival
    # ... and a later one changes nothing
    assert ordering.queue_key(created_at=arrival, queue_at=queued, sla_due_at=at(900)) == queued
    assert ordering.queue_key(created_at=arrival, queue_at=None, sla_due_at=None) == arrival


# --- in the database --------------------------------------------------------------------


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit(): ...` runs the after-commit work (event receivers) as production does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_queryset_orders_as_the_pure_rule(desk):
    # Given tickets with arrivals, allowances and SLA deadlines of every kind
    rows = [
        # (arrival, queue_at, sla_due_at) in minutes
        (0, 240, None),
        (10, 10, None),
        (20, 260, 50),
        (30, 270, 25),  # a deadline before its arrival: the key is the arrival
        (40, 100, 500),
        (50, 50, 40),
        (60, 300, None),
        (70, 140, 140),  # ties with the next by key: the lower number first
        (75, 140, None),
        (80, None, 90),  # no allowance recorded: counts from arrival
    ]
    made = []
    for arrival, queued, due in rows:
        ticket = tickets.ticket_create(actor=desk.alice, subject="Queue", body="x")
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=at(arrival),
            queue_at=at(queued) if queued is not None else None,
            sla_due_at=at(due) if due is not None else None,
        )
        made.append(ticket.pk)
    expected = sorted(
        Ticket.objects.filter(pk__in=made),
        key=lambda t: (
            ordering.queue_key(
                created_at=t.created_at, queue_at=t.queue_at, sla_due_at=t.sla_due_at
            ),
            t.pk,
        ),
    )
    # When the database orders them
    queue: Any = ordering.in_queue_order(Ticket.objects.filter(pk__in=made))
    ordered = list(queue.values("pk", "created_at", "queue_at", "sla_due_at", "queue_key"))
    # Then it is the pure rule's order, with the same keys
    assert [row["pk"] for row in ordered] == [t.pk for t in expected]
    for row in ordered:
        pure = ordering.queue_key(
            created_at=row["created_at"], queue_at=row["queue_at"], sla_due_at=row["sla_due_at"]
        )
        assert row["queue_key"] == pure
    minutes_of = [round(minutes(row["queue_key"])) for row in ordered]
    assert minutes_of == [10, 30, 50, 50, 80, 100, 140, 140, 240, 300]


def test_a_priority_change_moves_the_ticket_in_its_queue(desk, commit, settings):
    settings.HELPLINE_QUEUE_AGEING_BOUND_MINUTES = 100
    with commit():
        ticket = tickets.ticket_create(actor=desk.dave, subject="Queue", body="x")
    ticket.refresh_from_db()
    assert ticket.queue_at is not None
    # dave: no organization, joined today, normal priority: weight 0.15 (the allowance is
    # counted from the moment of creation, a fraction of a millisecond before `created_at`)
    assert abs(ticket.queue_at - ticket.created_at - timedelta(minutes=85)) < timedelta(seconds=1)
    with commit():
        tickets.ticket_update(actor=desk.agent1, ticket=ticket, priority="urgent")
    ticket.refresh_from_db()
    assert ticket.queue_at == ticket.created_at + timedelta(minutes=40)
    with commit():
        tickets.ticket_update(actor=desk.agent1, ticket=ticket, subject="Queue, renamed")
    ticket.refresh_from_db()
    assert ticket.queue_at == ticket.created_at + timedelta(minutes=40)


@pytest.fixture
def capped(desk, commit):
    """L1 on least loaded; agent1 (its only agent) takes one ticket at a time."""
    services.team_routing_set(actor=desk.admin, team=desk.l1, strategy="least_loaded")
    services.agent_update(actor=desk.supervisor, user=desk.agent1, max_open=1)
    return desk


def test_freed_capacity_takes_the_head_of_the_queue(capped, commit):
    desk = capped

    def create(actor, subject, priority=None):
        with commit():
            ticket = tickets.ticket_create(actor=actor, subject=subject, body="x")
        if priority:
            with commit():
                tickets.ticket_update(actor=desk.supervisor, ticket=ticket, priority=priority)
        return ticket.pk

    def assignee(pk):
        return Ticket.objects.get(pk=pk).assignee_id

    first = create(desk.dave, "First")
    assert assignee(first) == desk.agent1.pk
    # Then dave's normal ticket, then an urgent one of alice (premium): both wait
    normal = create(desk.dave, "Normal")
    urgent = create(desk.alice, "Urgent", "urgent")
    assert assignee(normal) is None and assignee(urgent) is None
    # When agent1 solves the first ticket, the urgent one (head of the queue) comes next
    with commit():
        tickets.ticket_change_status(
            actor=desk.agent1, ticket=Ticket.objects.get(pk=first), status="solved"
        )
    assert (assignee(urgent), assignee(normal)) == (desk.agent1.pk, None)
    # When the urgent one is unassigned (agent1's capacity frees), it is offered first again
    with commit():
        tickets.ticket_unassign(actor=desk.supervisor, ticket=Ticket.objects.get(pk=urgent))
    assert (assignee(urgent), assignee(normal)) == (desk.agent1.pk, None)
    # Closing the solved one frees nothing more: the normal ticket still waits
    with commit():
        tickets.ticket_change_status(
            actor=desk.agent1, ticket=Ticket.objects.get(pk=first), status="closed"
        )
    assert assignee(normal) is None
    # Solving the urgent one lets the normal one in
    with commit():
        tickets.ticket_change_status(
            actor=desk.agent1, ticket=Ticket.objects.get(pk=urgent), status="solved"
        )
    assert assignee(normal) == desk.agent1.pk


def test_reoffer_follows_queue_order_not_arrival(capped, commit):
    desk = capped
    services.agent_set_availability(actor=desk.agent1, user=desk.agent1, available=False)
    with commit():
        older = tickets.ticket_create(actor=desk.dave, subject="Older", body="x")
        newer = tickets.ticket_create(actor=desk.alice, subject="Newer", body="x")
    with commit():
        tickets.ticket_update(actor=desk.supervisor, ticket=newer, priority="urgent")
    with commit():
        services.agent_set_availability(actor=desk.agent1, user=desk.agent1, available=True)
    assert Ticket.objects.get(pk=newer.pk).assignee_id == desk.agent1.pk
    assert Ticket.objects.get(pk=older.pk).assignee_id is None


def test_a_manual_teams_queue_does_not_hold_up_an_automatic_one(capped, commit):
    desk = capped
    accounts.team_set_member(actor=desk.admin, team=desk.finance_team, user=desk.agent1)
    services.agent_set_availability(actor=desk.agent1, user=desk.agent1, available=False)
    with commit():
        # Finance (manual): the head of agent1's queues, but nobody is given it
        invoice = tickets.ticket_create(
            actor=desk.supervisor,
            requester=desk.alice,
            subject="Invoice",
            body="x",
            team=desk.finance_team,
            priority="urgent",
        )
        waiting = tickets.ticket_create(actor=desk.dave, subject="Waiting", body="x")
    with commit():
        services.agent_set_availability(actor=desk.agent1, user=desk.agent1, available=True)
    assert Ticket.objects.get(pk=invoice.pk).assignee_id is None
    assert Ticket.objects.get(pk=waiting.pk).assignee_id == desk.agent1.pk
