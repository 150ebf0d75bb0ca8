"""Routing rules, evaluated when a ticket is created: the first active rule (by position)
whose conditions all hold sets the team, raises the priority and adds tags, and the ticket's
audit trail says which rule did it ("Routed to L1 Technical by rule 'VPN'")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from helpline.core.memo import memo
from helpline.routing.models import RoutingRule
from helpline.tickets.models import Category, Priority

CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class Draft:
    """What a rule can look at in a ticket being created."""

    subject: str
    text: str
    channel: str
    priority: int
    category_id: int | None = None
    organization_id: int | None = None
    plan_id: int | None = None
    language: str = ""
    sender_email: str = ""


@dataclass(frozen=True)
class Outcome:
    rule: RoutingRule
    team_id: int | None
    priority: int | None
    tags: list[str] = field(default_factory=list)


@cache
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A keyword matches at the start of a word (`vpn` in "VPN-client", not in "openvpnx");
    in Chinese or Japanese text, where words are not spaced, anywhere."""
    escaped = re.escape(keyword.casefold())
    return re.compile(escaped if CJK.search(keyword) else rf"(?<!\w){escaped}")


def keyword_matches(keywords: list[str], text: str) -> bool:
    folded = text.casefold()
    return any(_keyword_pattern(k).search(folded) for k in keywords if k.strip())


def category_chain(category_id: int | None) -> set[int]:
    """The category and its ancestors (a rule on "Network" also takes "Network > VPN")."""
    chain: set[int] = set()
    if category_id is None:
        return chain
    parents = memo(
        "routing.category_parents", lambda: dict(Category.objects.values_list("id", "parent_id"))
    )
    current: int | None = category_id
    while current is not None and current not in chain:
        chain.add(current)
        current = parents.get(current)
    return chain


def matches(rule: RoutingRule, draft: Draft, categories: set[int]) -> bool:
    domain = draft.sender_email.rpartition("@")[2].casefold()
    checks = (
        (rule.channels, lambda: draft.channel in rule.channels),
        (rule.category_ids, lambda: bool(categories & set(rule.category_ids))),
        (rule.organization_ids, lambda: draft.organization_id in rule.organization_ids),
        (rule.plan_ids, lambda: draft.plan_id in rule.plan_ids),
        (rule.priorities, lambda: Priority(draft.priority).key in rule.priorities),
        (rule.languages, lambda: draft.language.split("-")[0].lower() in rule.languages),
        (rule.sender_domains, lambda: domain in {d.casefold() for d in rule.sender_domains}),
        (rule.keywords, lambda: keyword_matches(rule.keywords, f"{draft.subject}\n{draft.text}")),
    )
    return all(check() for condition, check in checks if condition)


def evaluate(draft: Draft) -> Outcome | None:
    """The outcome of the first matching active rule, or None. One query (two when a rule
    has category conditions and the ticket a category)."""
    return evaluate_many([draft])[0]


def evaluate_many(drafts: Sequence[Draft]) -> list[Outcome | None]:
    """`evaluate` for each draft of a batch, reading the rules (and categories) once."""
    rules = memo(
        "routing.rules",
        lambda: list(RoutingRule.objects.filter(is_active=True).order_by("position", "id")),
    )
    if not rules:
        return [None] * len(drafts)
    by_category = any(rule.category_ids for rule in rules)
    chains: dict[int, set[int]] = {}
    outcomes: list[Outcome | None] = []
    for draft in drafts:
        categories: set[int] = set()
        if by_category and draft.category_id is not None:
            if draft.category_id not in chains:
                chains[draft.category_id] = category_chain(draft.category_id)
            categories = chains[draft.category_id]
        outcomes.append(_first_match(rules, draft, categories))
    return outcomes


def _first_match(rules: list[RoutingRule], draft: Draft, categories: set[int]) -> Outcome | None:
    for rule in rules:
        if matches(rule, draft, categories):
            priority = Priority.from_name(rule.set_priority) if rule.set_priority else None
            return Outcome(rule=rule, team_id=rule.team_id, priority=priority, tags=rule.add_tags)
    return None
