"""Reads of routing configuration and agents' routing state (staff only; callers check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from helpline.accounts.models import Role, Team, User
from helpline.core.errors import NotFound
from helpline.routing.models import AgentSkill, AgentStatus, RoutingRule, Skill, TeamRouting
from helpline.tickets.models import Status

DONE = (Status.SOLVED, Status.CLOSED)


def rule_list() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.select_related("team").order_by("position", "id")


def access_rule(rule_id: int) -> RoutingRule:
    rule = rule_list().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    return rule


def skill_list() -> QuerySet[Skill]:
    return Skill.objects.select_related("category").order_by("kind", "name")


def access_skill(skill_id: int) -> Skill:
    skill = skill_list().filter(pk=skill_id).first()
    if skill is None:
        raise NotFound()
    return skill


@dataclass(frozen=True)
class TeamStrategy:
    team: Team
    strategy: str
    label: str


def team_strategies() -> list[TeamStrategy]:
    """Every team with its strategy (manual when never configured): two queries."""
    configured = {r.team_id: r.strategy for r in TeamRouting.objects.all()}
    labels = dict(TeamRouting.Strategy.choices)
    return [
        TeamStrategy(
            team, configured.get(team.pk, "manual"), str(labels[configured.get(team.pk, "manual")])
        )
        for team in Team.objects.order_by("kind", "level", "name")
    ]


@dataclass
class AgentRouting:
    user: User
    available: bool
    max_open: int | None
    open_tickets: int
    skills: list[Skill] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)


def agent_routing(user_ids: list[int] | None = None) -> list[AgentRouting]:
    """Active agents and supervisors with availability, capacity, open load, skills and
    teams: four queries whatever the number of agents."""
    users = User.objects.filter(is_active=True, role__in=(Role.AGENT, Role.SUPERVISOR))
    if user_ids is not None:
        users = users.filter(pk__in=user_ids)
    users = users.annotate(
        open_count=Count("assigned_tickets", filter=~Q(assigned_tickets__status__in=DONE))
    ).order_by("display_name", "email")
    agents = list(users.prefetch_related("teams"))
    ids = [agent.pk for agent in agents]
    statuses = {s.user_id: s for s in AgentStatus.objects.filter(user_id__in=ids)}
    skills: dict[int, list[Skill]] = {}
    for row in AgentSkill.objects.filter(user_id__in=ids).select_related("skill"):
        skills.setdefault(row.user_id, []).append(row.skill)
    result = []
    for agent in agents:
        status = statuses.get(agent.pk)
        result.append(
            AgentRouting(
                user=agent,
                available=status.available if status else True,
                max_open=status.max_open if status else None,
                open_tickets=agent.open_count,
                skills=sorted(skills.get(agent.pk, []), key=lambda s: (s.kind, s.name)),
                teams=[team.name for team in agent.teams.all()],
            )
        )
    return result


def access_agent(user_id: int) -> User:
    """An active agent or supervisor (whom routing assigns, as `agent_routing` lists); 404
    for anyone else."""
    user = User.objects.filter(
        pk=user_id, is_active=True, role__in=(Role.AGENT, Role.SUPERVISOR)
    ).first()
    if user is None:
        raise NotFound()
    return user


def is_available(user: User) -> bool:
    status = AgentStatus.objects.filter(user=user).values_list("available", flat=True).first()
    return status is not False
