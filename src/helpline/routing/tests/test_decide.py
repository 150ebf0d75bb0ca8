"""The pure assignment decision: fairness, capacity, availability."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from helpline.routing.decide import Candidate, choose, least_loaded, round_robin


def test_round_robin_is_fair_over_ten_thousand_assignments_with_agents_coming_and_going():
    rng = random.Random(7)
    steady = [1, 2, 3, 4, 5]
    flaky = [6, 7]
    counts = dict.fromkeys(steady + flaky, 0)
    last = None
    for _ in range(10_000):
        pool = [Candidate(id=a, available=True, open_tickets=0) for a in steady]
        pool += [Candidate(id=a, available=rng.random() < 0.5, open_tickets=0) for a in flaky]
        last = round_robin(pool, last)
        assert last is not None
        counts[last] += 1
    steady_counts = [counts[a] for a in steady]
    # The always-available agents get the same share to within one ticket.
    assert max(steady_counts) - min(steady_counts) <= 1
    assert all(counts[a] > 0 for a in flaky)


def test_round_robin_skips_away_and_full_agents_and_wraps():
    pool = [
        Candidate(id=1, available=True, open_tickets=0),
        Candidate(id=2, available=False, open_tickets=0),
        Candidate(id=3, available=True, open_tickets=2, max_open=2),
        Candidate(id=4, available=True, open_tickets=1, max_open=2),
    ]
    assert round_robin(pool, last_id=1) == 4
    assert round_robin(pool, last_id=4) == 1
    assert round_robin(pool, last_id=None) == 1
    assert round_robin([Candidate(id=1, available=False, open_tickets=0)], None) is None


def test_least_loaded_picks_fewest_open_then_lowest_id():
    pool = [
        Candidate(id=3, available=True, open_tickets=2),
        Candidate(id=1, available=True, open_tickets=4),
        Candidate(id=2, available=True, open_tickets=2),
        Candidate(id=4, available=False, open_tickets=0),
    ]
    assert least_loaded(pool) == 2
    assert choose("manual", pool, None) is None


@given(
    agents=st.lists(
        st.tuples(st.booleans(), st.integers(0, 5), st.one_of(st.none(), st.integers(1, 5))),
        min_size=1,
        max_size=8,
    ),
    tickets=st.integers(0, 60),
    strategy=st.sampled_from(["round_robin", "least_loaded"]),
)
def test_capacity_is_never_exceeded_and_away_agents_get_nothing(agents, tickets, strategy):
    load = {index: start for index, (_, start, _) in enumerate(agents)}
    last = None
    for _ in range(tickets):
        pool = [
            Candidate(id=index, available=available, open_tickets=load[index], max_open=cap)
            for index, (available, _, cap) in enumerate(agents)
        ]
        chosen = choose(strategy, pool, last)
        if chosen is None:
            assert not any(c.can_take for c in pool)
            break
        available, _start, cap = agents[chosen]
        assert available
        assert cap is None or load[chosen] < cap
        load[chosen] += 1
        last = chosen


candidate = st.builds(
    Candidate,
    id=st.integers(1, 50),
    available=st.booleans(),
    open_tickets=st.integers(0, 10),
    max_open=st.none() | st.integers(1, 10),
    skills=st.frozensets(st.integers(1, 5), max_size=5),
)


@given(
    st.lists(candidate, max_size=12, unique_by=lambda c: c.id),
    st.frozensets(st.integers(1, 5), max_size=3),
)
def test_skills_are_respected_whenever_the_team_has_them(pool, required):
    chosen = choose("skills", pool, None, required)
    skilled = [c for c in pool if required <= c.skills]
    by_id = {c.id: c for c in pool}
    if chosen is not None:
        assert by_id[chosen].can_take
    if skilled:
        # a skilled agent or nobody (the ticket waits for one): never an unskilled one
        assert chosen is None or required <= by_id[chosen].skills
        able = [c for c in skilled if c.can_take]
        if able:
            best = min(able, key=lambda c: (c.open_tickets, c.id))
            assert chosen == best.id
        else:
            assert chosen is None
    else:
        # nobody in the team has them: least loaded of everyone
        assert chosen == least_loaded(pool)


def test_skills_pick_the_least_loaded_skilled_agent():
    vpn, chinese = 1, 2
    pool = [
        Candidate(id=1, available=True, open_tickets=0),
        Candidate(id=2, available=True, open_tickets=5, skills=frozenset({vpn})),
        Candidate(id=3, available=True, open_tickets=3, skills=frozenset({vpn, chinese})),
        Candidate(id=4, available=False, open_tickets=0, skills=frozenset({vpn, chinese})),
    ]
    assert choose("skills", pool, None, frozenset({vpn})) == 3
    assert choose("skills", pool, None, frozenset({vpn, chinese})) == 3
    assert choose("skills", pool, None, frozenset()) == 1
    assert choose("skills", pool, None, frozenset({99})) == 1  # nobody has it: least loaded
