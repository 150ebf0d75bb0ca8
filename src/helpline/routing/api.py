"""/api/v1/routing/{teams,rules,skills,agents} and /api/v1/me/availability.

Reading the configuration needs `routing:read` and an agent; changing it `routing:write`
and the role the service asks for (strategies, rules, skills: admins; agents' capacity and
skills: supervisors and admins). An agent sets their own availability at /me/availability.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts.models import Team, User
from helpline.api import require_scope
from helpline.core.errors import ValidationError
from helpline.routing import config, selectors, services
from helpline.routing.schemas import (
    AgentOut,
    AgentUpdateIn,
    AvailabilityIn,
    AvailabilityOut,
    ReorderIn,
    RuleIn,
    RuleOut,
    RuleUpdateIn,
    SkillIn,
    SkillOut,
    TeamStrategyIn,
    TeamStrategyOut,
)
from helpline.tickets import catalog
from helpline.tickets.access import require_staff
from helpline.tickets.models import Category

router = Router(tags=["routing"])
me = Router(tags=["routing"])

READ = "routing:read"
WRITE = "routing:write"


def _reader(request: HttpRequest) -> User:
    actor = require_scope(request, READ)
    require_staff(actor)
    return actor


def _writer(request: HttpRequest) -> User:
    actor = require_scope(request, WRITE)
    require_staff(actor)
    return actor


# A team or category named in the body is looked up as the tickets API does (the teams and
# categories the caller sees; 422 naming the field otherwise); one in the path by the access
# functions (404 for missing and not visible alike).


def _team(actor: User, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = accounts_selectors.team_list(actor=actor).filter(pk=team_id).first()
    if team is None:
        raise ValidationError(_("Unknown team."), fields={"team_id": "not_found"})
    return team


def _category(actor: User, category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = catalog.visible_categories(actor).filter(pk=category_id).first()
    if category is None:
        raise ValidationError(_("Unknown category."), fields={"category_id": "not_found"})
    return category


def _rule_values(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    if "team_id" in values:
        values["team"] = _team(actor, values.pop("team_id"))
    if "set_priority" in values:
        values["set_priority"] = values["set_priority"] or ""
    if values.get("position", 0) is None:
        del values["position"]
    return values


# --- team strategies ----------------------------------------------------------------------


@router.get("/teams", response=list[TeamStrategyOut])
def list_team_strategies(request: HttpRequest) -> Any:
    """Every team with the way it hands out work."""
    _reader(request)
    return selectors.team_strategies()


@router.put("/teams/{int:team_id}", response=TeamStrategyOut)
def set_team_strategy(request: HttpRequest, team_id: int, payload: TeamStrategyIn) -> Any:
    actor = _writer(request)
    team = accounts_selectors.access_team(actor, team_id)
    services.team_routing_set(actor=actor, team=team, strategy=payload.strategy)
    return next(item for item in selectors.team_strategies() if item.team.pk == team_id)


# --- rules --------------------------------------------------------------------------------


@router.get("/rules", response=list[RuleOut])
def list_rules(request: HttpRequest) -> Any:
    """Routing rules in the order they are tried; the first match applies."""
    _reader(request)
    return selectors.rule_list()


@router.post("/rules", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Any:
    actor = _writer(request)
    rule = config.rule_create(actor=actor, **_rule_values(actor, payload.model_dump()))
    return Status(201, selectors.access_rule(rule.pk))


@router.post("/rules/reorder", response=list[RuleOut])
def reorder_rules(request: HttpRequest, payload: ReorderIn) -> Any:
    actor = _writer(request)
    config.rules_reorder(actor=actor, rule_ids=payload.rule_ids)
    return selectors.rule_list()


@router.get("/rules/{int:rule_id}", response=RuleOut)
def get_rule(request: HttpRequest, rule_id: int) -> Any:
    _reader(request)
    return selectors.access_rule(rule_id)


@router.patch("/rules/{int:rule_id}", response=RuleOut)
def update_rule(request: HttpRequest, rule_id: int, payload: RuleUpdateIn) -> Any:
    actor = _writer(request)
    rule = selectors.access_rule(rule_id)
    changes = _rule_values(actor, payload.changes(nullable={"team_id", "set_priority"}))
    config.rule_update(actor=actor, rule=rule, **changes)
    return selectors.access_rule(rule_id)


@router.delete("/rules/{int:rule_id}", response={204: None})
def delete_rule(request: HttpRequest, rule_id: int) -> Any:
    actor = _writer(request)
    config.rule_delete(actor=actor, rule=selectors.access_rule(rule_id))
    return Status(204, None)


# --- skills -------------------------------------------------------------------------------


@router.get("/skills", response=list[SkillOut])
def list_skills(request: HttpRequest) -> Any:
    _reader(request)
    return selectors.skill_list()


@router.post("/skills", response={201: SkillOut})
def create_skill(request: HttpRequest, payload: SkillIn) -> Any:
    actor = _writer(request)
    skill = config.skill_create(
        actor=actor,
        name=payload.name,
        kind=payload.kind,
        category=_category(actor, payload.category_id),
        value=payload.value,
    )
    return Status(201, skill)


@router.delete("/skills/{int:skill_id}", response={204: None})
def delete_skill(request: HttpRequest, skill_id: int) -> Any:
    actor = _writer(request)
    config.skill_delete(actor=actor, skill=selectors.access_skill(skill_id))
    return Status(204, None)


# --- agents -------------------------------------------------------------------------------


@router.get("/agents", response=list[AgentOut])
def list_agents(request: HttpRequest) -> Any:
    """Agents with availability, capacity, open tickets, skills and teams."""
    _reader(request)
    return selectors.agent_routing()


@router.patch("/agents/{int:user_id}", response=AgentOut)
def update_agent(request: HttpRequest, user_id: int, payload: AgentUpdateIn) -> Any:
    actor = _writer(request)
    user = selectors.access_agent(user_id)
    services.agent_update(actor=actor, user=user, **payload.changes(nullable={"max_open"}))
    return selectors.agent_routing([user.pk])[0]


# --- the agent's own availability ---------------------------------------------------------


@me.get("/availability", response=AvailabilityOut)
def get_availability(request: HttpRequest) -> Any:
    """Whether routing gives you new tickets (agents)."""
    actor = _reader(request)
    return {"available": selectors.is_available(actor)}


@me.post("/availability", response=AvailabilityOut)
def set_availability(request: HttpRequest, payload: AvailabilityIn) -> Any:
    """Set yourself available (routing offers you waiting work at once) or away."""
    actor = _writer(request)
    status = services.agent_set_availability(actor=actor, user=actor, available=payload.available)
    return {"available": status.available}
