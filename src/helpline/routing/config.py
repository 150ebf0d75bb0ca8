"""Admin writes of routing configuration: routing rules and skills.

Team strategies and agents' availability, capacity and skills are in `services`. Every
definition is validated in full before it is stored, so rule evaluation at ticket creation
never meets a broken rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from helpline.accounts.models import Organization, Role, SupportPlan, Team, User
from helpline.core.errors import Conflict, PermissionDenied, ValidationError
from helpline.routing import services
from helpline.routing.models import RoutingRule, Skill
from helpline.tickets.models import PRIORITY_NAMES, Category, Channel
from helpline.tickets.services import _tag_names

RULE_FIELDS = (
    "name", "position", "is_active", "channels", "category_ids", "organization_ids",
    "plan_ids", "priorities", "languages", "sender_domains", "keywords", "team",
    "set_priority", "add_tags",
)  # fmt: skip
LIST_FIELDS = (
    "channels", "category_ids", "organization_ids", "plan_ids", "priorities", "languages",
    "sender_domains", "keywords", "add_tags",
)  # fmt: skip
CONDITIONS = LIST_FIELDS[:-1]
MAX_ITEMS = 100


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators may configure routing."))


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        return None
    if not all(isinstance(item, str) and 0 < len(item.strip()) <= 100 for item in value):
        return None
    return [item.strip() for item in value]


def _ids(value: Any, model: Any) -> list[int] | None:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        return None
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        return None
    if model.objects.filter(pk__in=value).count() != len(set(value)):
        return None
    return sorted(set(value))


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    """The rule's values normalised, or 422 naming every bad field."""
    errors: dict[str, str] = {}
    clean = dict(values)
    name = str(values.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = "required, at most 100 characters"
    clean["name"] = name
    position = values.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        errors["position"] = "a number from 0"
    for field, model in (
        ("category_ids", Category),
        ("organization_ids", Organization),
        ("plan_ids", SupportPlan),
    ):
        ids = _ids(values.get(field, []), model)
        if ids is None:
            errors[field] = "a list of existing ids"
        else:
            clean[field] = ids
    checks = {
        "channels": (Channel.values, "a list of " + ", ".join(Channel.values)),
        "priorities": (PRIORITY_NAMES, "a list of " + ", ".join(PRIORITY_NAMES)),
    }
    for field, (allowed, message) in checks.items():
        items = _strings(values.get(field, []))
        if items is None or any(item not in allowed for item in items):
            errors[field] = message
        else:
            clean[field] = items
    for field in ("languages", "sender_domains", "keywords"):
        items = _strings(values.get(field, []))
        if items is None:
            errors[field] = "a list of non-empty texts"
        else:
            folded = [item.lower() for item in items]
            clean[field] = items if field == "keywords" else [i.lstrip("@") for i in folded]
    tags = _strings(values.get("add_tags", []))
    try:
        clean["add_tags"] = _tag_names(tags) if tags is not None else None
    except ValidationError:
        clean["add_tags"] = None
    if clean["add_tags"] is None:
        errors["add_tags"] = "a list of tag names"
    priority = values.get("set_priority") or ""
    if priority and priority not in PRIORITY_NAMES:
        errors["set_priority"] = "one of " + ", ".join(PRIORITY_NAMES)
    clean["set_priority"] = priority
    team = values.get("team")
    if team is not None and not isinstance(team, Team):
        errors["team"] = "a team"
    if not errors and team is None and not priority and not clean["add_tags"]:
        errors["team"] = "a rule must set a team, a priority or tags"
    if errors:
        raise ValidationError(_("Invalid routing rule."), fields=errors)
    return clean


def _check_fields(values: dict[str, Any]) -> None:
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields."), fields={name: "unknown" for name in unknown})


def rule_create(*, actor: User, **values: Any) -> RoutingRule:
    """A new rule; without a position it goes last."""
    _require_admin(actor)
    _check_fields(values)
    if "position" not in values:
        last = RoutingRule.objects.aggregate(last=Max("position"))["last"]
        values["position"] = 0 if last is None else last + 10
    clean = _clean_rule(values)
    return RoutingRule.objects.create(**clean)


def rule_update(*, actor: User, rule: RoutingRule, **changes: Any) -> RoutingRule:
    _require_admin(actor)
    _check_fields(changes)
    current = {name: getattr(rule, name) for name in RULE_FIELDS}
    clean = _clean_rule({**current, **changes})
    for name in changes:
        setattr(rule, name, clean[name])
    rule.save(update_fields=[*changes, "updated_at"])
    return rule


def rule_delete(*, actor: User, rule: RoutingRule) -> None:
    _require_admin(actor)
    rule.delete()


def rules_reorder(*, actor: User, rule_ids: list[int]) -> list[RoutingRule]:
    """Put the rules in this order (every rule, once)."""
    _require_admin(actor)
    with transaction.atomic():
        rules = {rule.pk: rule for rule in RoutingRule.objects.select_for_update()}
        if sorted(rule_ids) != sorted(rules):
            raise ValidationError(
                _("List every rule exactly once."), fields={"rule_ids": "every rule once"}
            )
        for index, rule_id in enumerate(rule_ids):
            rules[rule_id].position = index * 10
        RoutingRule.objects.bulk_update(rules.values(), ["position"])
    return [rules[rule_id] for rule_id in rule_ids]


def skill_create(
    *, actor: User, name: str, kind: str, category: Category | None = None, value: str = ""
) -> Skill:
    _require_admin(actor)
    name = (name or "").strip()
    value = (value or "").strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 100:
        errors["name"] = "required, at most 100 characters"
    if kind not in Skill.Kind.values:
        errors["kind"] = "one of " + ", ".join(Skill.Kind.values)
    elif kind == Skill.Kind.CATEGORY and category is None:
        errors["category"] = "required for a category skill"
    elif kind != Skill.Kind.CATEGORY and not value:
        errors["value"] = "required: a language code or a product tag"
    if errors:
        raise ValidationError(_("Invalid skill."), fields=errors)
    if kind == Skill.Kind.LANGUAGE:
        value = value.split("-")[0].lower()
    elif kind == Skill.Kind.PRODUCT:
        value = _tag_names([value])[0]
    try:
        with transaction.atomic():
            return Skill.objects.create(
                name=name,
                kind=kind,
                category=category if kind == Skill.Kind.CATEGORY else None,
                value="" if kind == Skill.Kind.CATEGORY else value,
            )
    except IntegrityError:
        raise Conflict(_("A skill with this name exists."), fields={"name": "taken"}) from None


def skill_delete(*, actor: User, skill: Skill) -> None:
    _require_admin(actor)
    skill.delete()


def agent_set_skills(*, actor: User, user: User, skills: Iterable[Skill]) -> list[Skill]:
    """Replace the agent's skills (`services.agent_update` of the skills)."""
    wanted = {skill.pk: skill for skill in skills}
    services.agent_update(actor=actor, user=user, skill_ids=list(wanted))
    return sorted(wanted.values(), key=lambda skill: (skill.kind, skill.name))
