"""The cost of one automatic assignment at 200 agents: `routing.services.auto_assign`.

    python bench/routing_bench.py                 # PostgreSQL (helpline_bench_routing)
    python bench/routing_bench.py --url ""        # SQLite (bench/out/routing-sqlite-*/)

A fresh database gets one team of N agents (default 200; a third with a capacity, a tenth
away; with `--strategy skills`, one or two of five language skills each) holding 20 open
tickets each, and W waiting unassigned tickets (of a German-speaking customer). Each waiting
ticket is then assigned by `auto_assign` (the team's strategy, candidates with availability,
capacity and open-ticket counts in one query, the audited assignment), timed one by one; the
decision alone (as `auto_assign` makes it without the lock and the write: the team's routing
row, the ticket's required skills on a skills team, the candidates, the choice) is timed
separately, `--decisions` times (default 1000) over the waiting tickets, before they are
assigned.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import benchenv


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--strategy", default="least_loaded")
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--url", default=None, help='Database URL ("" for SQLite).')
    args = parser.parse_args(argv)
    url = args.url
    if url is None:
        url = "postgres://postgres@127.0.0.1:5432/helpline_bench_routing"
    kind = benchenv.configure(url, args.agents)
    directory = benchenv.OUT / f"routing-{kind}-{args.agents}"
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["HELPLINE_DATA_DIR"] = str(directory)
    benchenv.recreate_database()

    import django

    django.setup()
    from django.core.management import call_command

    from helpline.accounts.models import Role, Team, TeamMembership, User
    from helpline.routing import services
    from helpline.routing.models import AgentSkill, AgentStatus, Skill, TeamRouting
    from helpline.tickets.models import Status, Ticket

    call_command("migrate", verbosity=0)
    rng = random.Random(1)
    customer = User.objects.create(email="customer@bench.test", username="customer")
    team = Team.objects.create(name="Bench line", kind="line", level=1)
    agents = User.objects.bulk_create(
        User(email=f"agent{n}@bench.test", username=f"agent{n}", role=Role.AGENT)
        for n in range(args.agents)
    )
    TeamMembership.objects.bulk_create(TeamMembership(team=team, user=a) for a in agents)
    AgentStatus.objects.bulk_create(
        AgentStatus(
            user=a,
            available=rng.random() > 0.1,
            max_open=rng.choice([25, 30, 40]) if rng.random() < 0.33 else None,
        )
        for a in agents
    )
    TeamRouting.objects.create(team=team, strategy=args.strategy)
    if args.strategy == "skills":
        # Five language skills, each agent with one or two; the customer writes in German,
        # so every ticket needs the German skill that about a third of the agents have.
        skills = Skill.objects.bulk_create(
            Skill(name=name, kind=Skill.Kind.LANGUAGE, value=code)
            for name, code in (
                ("English", "en"),
                ("German", "de"),
                ("French", "fr"),
                ("Russian", "ru"),
                ("Chinese", "zh"),
            )
        )
        AgentSkill.objects.bulk_create(
            AgentSkill(user=a, skill=skill)
            for a in agents
            for skill in rng.sample(skills, rng.choice([1, 2]))
        )
        User.objects.filter(pk=customer.pk).update(language="de")
    Ticket.objects.bulk_create(
        Ticket(subject="Busy", requester=customer, team=team, assignee=a, status=Status.OPEN)
        for a in agents
        for _ in range(20)
    )
    waiting = Ticket.objects.bulk_create(
        Ticket(subject="Waiting", requester=customer, team=team, status=Status.NEW)
        for _ in range(args.waiting)
    )
    log(f"{kind}: {args.agents} agents, {args.agents * 20} open tickets, {args.waiting} waiting")
    # A desk in steady state has fresh planner statistics and visibility maps (autovacuum);
    # a just-seeded one does not, so give it both before measuring.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    from helpline.routing import decide

    # The decision as `auto_assign` makes it, without the lock and the write: the team's
    # routing row, the ticket's required skills (skills strategy), the candidates, the choice.
    by_skills = args.strategy == "skills"
    decisions = []
    for n in range(args.decisions):
        ticket = waiting[n % len(waiting)]
        started = time.perf_counter()
        routing = services.routing_of(team.pk)
        assert routing is not None
        needed = services.required_skills(ticket.pk) if by_skills else []
        pool = services.candidates(team.pk, with_skills=by_skills)
        required = frozenset(skill.pk for skill in needed)
        decide.choose(routing.strategy, pool, routing.last_assignee_id, required)
        decisions.append((time.perf_counter() - started) * 1000)
    decisions.sort()
    print(
        f"{kind}: the decision alone (config, candidates with load, choice) at {args.agents} "
        f"agents: p50 {statistics.median(decisions):.2f} ms, "
        f"p99 {decisions[int(len(decisions) * 0.99) - 1]:.2f} ms ({len(decisions)} decisions; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    times = []
    for ticket in waiting:
        started = time.perf_counter()
        agent = services.auto_assign(ticket_id=ticket.pk)
        times.append((time.perf_counter() - started) * 1000)
        assert agent is not None
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(
        f"{kind}: one {args.strategy} assignment at {args.agents} agents: "
        f"p50 {statistics.median(times):.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms "
        f"({len(times)} assignments, each audited and emitting ticket.assigned)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
