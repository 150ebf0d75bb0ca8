"""The assignment decision, pure: who of the candidates gets the next ticket.

Kept free of the ORM so that fairness, capacity and skills can be checked over many
thousands of decisions quickly; `services.auto_assign` feeds it one query's worth of
candidates per decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    id: int
    available: bool
    open_tickets: int
    max_open: int | None = None
    skills: frozenset[int] = field(default_factory=frozenset)

    @property
    def can_take(self) -> bool:
        return self.available and (self.max_open is None or self.open_tickets < self.max_open)


def round_robin(candidates: Sequence[Candidate], last_id: int | None) -> int | None:
    """The first agent after `last_id` (by id, wrapping) who is available and under capacity."""
    able = sorted(c.id for c in candidates if c.can_take)
    if not able:
        return None
    if last_id is None:
        return able[0]
    return next((agent for agent in able if agent > last_id), able[0])


def least_loaded(candidates: Sequence[Candidate]) -> int | None:
    """The available agent with the fewest open tickets (ties: lowest id), under capacity."""
    able = [c for c in candidates if c.can_take]
    if not able:
        return None
    return min(able, key=lambda c: (c.open_tickets, c.id)).id


def skilled(candidates: Sequence[Candidate], required: frozenset[int]) -> list[Candidate]:
    """The candidates who have every required skill, whether available now or not."""
    return [c for c in candidates if required <= c.skills]


def skills_then_least_loaded(
    candidates: Sequence[Candidate], required: frozenset[int]
) -> int | None:
    """The least loaded of the agents with every required skill. When nobody in the team has
    them all, the least loaded of everyone (the ticket must not wait for an agent the team
    does not have); when skilled agents exist but are away or full, nobody: it waits."""
    pool = skilled(candidates, required)
    return least_loaded(pool if pool else candidates)


def choose(
    strategy: str,
    candidates: Sequence[Candidate],
    last_id: int | None,
    required: frozenset[int] = frozenset(),
) -> int | None:
    if strategy == "round_robin":
        return round_robin(candidates, last_id)
    if strategy == "least_loaded":
        return least_loaded(candidates)
    if strategy == "skills":
        return skills_then_least_loaded(candidates, required)
    return None
