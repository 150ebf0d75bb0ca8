"""The desk's routing screen (`/desk/admin/routing/`): team strategies, routing rules,
skills and agents' availability, capacity and skills.

Same access as the other admin screens (supervisors read, other agents get 403, customers
404) with the services' split: admins change strategies, rules and skills; supervisors and
admins change agents' rows. Changes go through routing.services and routing.config. Rows of
the strategies and agents tables save in place with HTMX (the row comes back); without
HTMX every form posts and redirects back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpline.accounts import selectors as accounts_selectors
from helpline.accounts.models import Organization, Role, SupportPlan, Team
from helpline.core.errors import DomainError
from helpline.core.middleware import AuthenticatedRequest
from helpline.routing import config, selectors, services
from helpline.routing.forms import (
    PRIORITIES,
    SERVICE_ERRORS,
    AgentForm,
    RuleForm,
    SkillForm,
    StrategyForm,
)
from helpline.routing.models import RoutingRule, Skill, TeamRouting
from helpline.tickets import catalog
from helpline.tickets.forms import category_choices
from helpline.tickets.models import Category, Channel
from helpline.tickets.views_admin import SECTIONS, admin_area, supervisor_area

TITLE = gettext_lazy("Routing")


def _is_htmx(request: AuthenticatedRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _context(request: AuthenticatedRequest, **extra: Any) -> dict[str, Any]:
    return {
        "area": "desk",
        "desk_section": "admin",
        "sections": SECTIONS,
        "section": "routing",
        "section_title": TITLE,
        "can_edit": request.user.role == Role.ADMIN,
        **extra,
    }


def _service(form: forms.Form, change: Callable[[], Any]) -> bool:
    """Run the service; domain errors land next to the fields they name."""
    try:
        change()
    except DomainError as exc:
        placed = False
        for name in exc.fields or {}:
            if name in form.fields:
                form.add_error(name, str(SERVICE_ERRORS.get(name, exc.message)))
                placed = True
        if not placed:
            form.add_error(None, exc.message)
        return False
    return True


def _back(anchor: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("routing:admin") + "#" + anchor)


def _categories(request: AuthenticatedRequest) -> list[tuple[str, str]]:
    return category_choices(catalog.category_tree(actor=request.user, include_inactive=True))


def _skill_choices() -> list[tuple[str, str]]:
    return [(str(skill.pk), skill.name) for skill in selectors.skill_list()]


# --- the page -------------------------------------------------------------------------------


def _rule_rows(rules: list[RoutingRule]) -> list[dict[str, Any]]:
    """Each rule with a readable summary of its conditions and actions (names in 3 queries)."""

    def names(model: Any, field: str) -> dict[int, str]:
        wanted = {pk for rule in rules for pk in getattr(rule, field)}
        if not wanted:
            return {}
        return dict(model.objects.filter(pk__in=wanted).values_list("pk", "name"))

    categories = names(Category, "category_ids")
    organizations = names(Organization, "organization_ids")
    plans = names(SupportPlan, "plan_ids")
    channels = dict(Channel.choices)
    priorities = dict(PRIORITIES)
    rows = []
    for index, rule in enumerate(rules):
        conditions = [
            (_("Channels"), [str(channels.get(c, c)) for c in rule.channels]),
            (_("Categories"), [categories.get(pk, "?") for pk in rule.category_ids]),
            (_("Organizations"), [organizations.get(pk, "?") for pk in rule.organization_ids]),
            (_("Support plans"), [plans.get(pk, "?") for pk in rule.plan_ids]),
            (_("Priorities"), [str(priorities.get(p, p)) for p in rule.priorities]),
            (_("Languages"), rule.languages),
            (_("Sender domains"), rule.sender_domains),
            (_("Keywords"), rule.keywords),
        ]
        actions = [
            (_("Team"), [rule.team.name] if rule.team else []),
            (_("Priority"), [str(priorities[rule.set_priority])] if rule.set_priority else []),
            (_("Tags"), rule.add_tags),
        ]
        rows.append(
            {
                "rule": rule,
                "conditions": [(label, ", ".join(v)) for label, v in conditions if v],
                "actions": [(label, ", ".join(v)) for label, v in actions if v],
                "first": index == 0,
                "last": index == len(rules) - 1,
            }
        )
    return rows


def _agent_row(agent: selectors.AgentRouting, skills: list[tuple[str, str]]) -> dict[str, Any]:
    initial = {
        "available": agent.available,
        "max_open": agent.max_open,
        "skills": [str(skill.pk) for skill in agent.skills],
    }
    form = AgentForm(initial=initial, skills=skills, auto_id=f"agent-{agent.user.pk}-%s")
    return {"agent": agent, "form": form}


def _page(
    request: AuthenticatedRequest,
    *,
    status: int = 200,
    skill_form: SkillForm | None = None,
    strategy_form: tuple[int, StrategyForm] | None = None,
    agent_form: tuple[int, AgentForm] | None = None,
) -> HttpResponse:
    skills = list(selectors.skill_list())
    skill_options = [(str(skill.pk), skill.name) for skill in skills]
    strategies: list[dict[str, Any]] = [
        {"row": row, "errors": None} for row in selectors.team_strategies()
    ]
    if strategy_form is not None:
        for item in strategies:
            if item["row"].team.pk == strategy_form[0]:
                item["errors"] = strategy_form[1].errors
    agents = [_agent_row(agent, skill_options) for agent in selectors.agent_routing()]
    if agent_form is not None:
        for row in agents:
            if row["agent"].user.pk == agent_form[0]:
                row["form"] = agent_form[1]
    context = _context(
        request,
        strategies=strategies,
        strategy_choices=TeamRouting.Strategy.choices,
        rules=_rule_rows(list(selectors.rule_list())),
        skills=skills,
        skill_form=skill_form or SkillForm(categories=_categories(request), auto_id="skill-%s"),
        agents=agents,
    )
    return render(request, "routing/admin/routing.html", context, status=status)


@admin_area
def routing(request: AuthenticatedRequest) -> HttpResponse:
    return _page(request)


# --- team strategies ------------------------------------------------------------------------


@admin_area
def strategy(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    if request.method != "POST":
        return _back("strategies")
    team = accounts_selectors.access_team(request.user, team_id)
    form = StrategyForm(request.POST)
    saved = form.is_valid() and _service(
        form,
        lambda: services.team_routing_set(
            actor=request.user, team=team, strategy=form.cleaned_data["strategy"]
        ),
    )
    if _is_htmx(request):
        row = next(r for r in selectors.team_strategies() if r.team.pk == team.pk)
        context = _context(
            request,
            item={"row": row, "errors": None if saved else form.errors},
            strategy_choices=TeamRouting.Strategy.choices,
            saved=saved,
        )
        return render(
            request, "routing/admin/_strategy_row.html", context, status=200 if saved else 422
        )
    if not saved:
        return _page(request, status=422, strategy_form=(team.pk, form))
    messages.success(request, _("Saved."))
    return _back("strategies")


# --- rules ----------------------------------------------------------------------------------


def _named(model: Any) -> list[tuple[str, str]]:
    return [
        (str(pk), name) for pk, name in model.objects.order_by("name").values_list("pk", "name")
    ]


def _rule_form(request: AuthenticatedRequest, rule: RoutingRule | None) -> RuleForm:
    data = request.POST if request.method == "POST" else None
    return RuleForm(
        data,
        initial=RuleForm.initial_for(rule) if rule else None,
        categories=_categories(request),
        organizations=_named(Organization),
        plans=_named(SupportPlan),
        teams=_named(Team),
        auto_id="rule-%s",
    )


def _rule_page(request: AuthenticatedRequest, rule: RoutingRule | None) -> HttpResponse:
    actor = request.user
    form = _rule_form(request, rule)
    if request.method == "POST" and form.is_valid():

        def change() -> None:
            args = form.service_arguments()
            if rule is None:
                config.rule_create(actor=actor, **args)
            else:
                config.rule_update(actor=actor, rule=rule, **args)

        if _service(form, change):
            messages.success(request, _("Saved."))
            return _back("rules")
    context = _context(
        request, rule=rule, form=form, title=rule.name if rule else _("New routing rule")
    )
    status = 422 if request.method == "POST" else 200
    return render(request, "routing/admin/rule.html", context, status=status)


@admin_area
def rule_new(request: AuthenticatedRequest) -> HttpResponse:
    return _rule_page(request, None)


@admin_area
def rule(request: AuthenticatedRequest, rule_id: int) -> HttpResponse:
    return _rule_page(request, selectors.access_rule(rule_id))


@admin_area
def rule_toggle(request: AuthenticatedRequest, rule_id: int) -> HttpResponse:
    target = selectors.access_rule(rule_id)
    if request.method == "POST":
        config.rule_update(actor=request.user, rule=target, is_active=not target.is_active)
        messages.success(request, _("Saved."))
    return _back("rules")


@admin_area
def rule_move(request: AuthenticatedRequest, rule_id: int) -> HttpResponse:
    target = selectors.access_rule(rule_id)
    if request.method == "POST":
        order = list(selectors.rule_list().values_list("pk", flat=True))
        index = order.index(target.pk)
        other = index - 1 if request.POST.get("direction") == "up" else index + 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
            config.rules_reorder(actor=request.user, rule_ids=order)
            messages.success(request, _("Saved."))
    return _back("rules")


def _confirm(
    request: AuthenticatedRequest, *, question: str, delete: Callable[[], None], anchor: str
) -> HttpResponse:
    """GET: ask; POST: delete and go back. Admins only (supervisors cannot delete)."""
    if request.user.role != Role.ADMIN:
        raise PermissionDenied
    if request.method == "POST":
        delete()
        messages.success(request, _("Deleted."))
        return _back(anchor)
    context = _context(request, question=question, back=reverse("routing:admin") + "#" + anchor)
    return render(request, "routing/admin/confirm_delete.html", context)


@admin_area
def rule_delete(request: AuthenticatedRequest, rule_id: int) -> HttpResponse:
    target = selectors.access_rule(rule_id)
    return _confirm(
        request,
        question=_("Delete the routing rule “%(name)s”?") % {"name": target.name},
        delete=lambda: config.rule_delete(actor=request.user, rule=target),
        anchor="rules",
    )


# --- skills ---------------------------------------------------------------------------------


@admin_area
def skills(request: AuthenticatedRequest) -> HttpResponse:
    if request.method != "POST":
        return _back("skills")
    form = SkillForm(request.POST, categories=_categories(request), auto_id="skill-%s")

    def create() -> None:
        data = form.cleaned_data
        category = (
            catalog.access_category(request.user, int(data["category"]))
            if (data["category"] and data["kind"] == Skill.Kind.CATEGORY)
            else None
        )
        config.skill_create(
            actor=request.user,
            name=data["name"],
            kind=data["kind"],
            category=category,
            value=data["value"],
        )

    if form.is_valid() and _service(form, create):
        messages.success(request, _("Skill added."))
        return _back("skills")
    return _page(request, status=422, skill_form=form)


@admin_area
def skill_delete(request: AuthenticatedRequest, skill_id: int) -> HttpResponse:
    target = selectors.access_skill(skill_id)
    return _confirm(
        request,
        question=_("Delete the skill “%(name)s”? Agents who have it lose it.")
        % {"name": target.name},
        delete=lambda: config.skill_delete(actor=request.user, skill=target),
        anchor="skills",
    )


# --- agents ---------------------------------------------------------------------------------


@supervisor_area  # agents' rows: the services let supervisors change them too
def agent(request: AuthenticatedRequest, user_id: int) -> HttpResponse:
    if request.method != "POST":
        return _back("agents")
    actor = request.user
    user = selectors.access_agent(user_id)
    options = _skill_choices()
    form = AgentForm(request.POST, skills=options, auto_id=f"agent-{user.pk}-%s")

    def change() -> None:
        data = form.cleaned_data
        services.agent_update(
            actor=actor,
            user=user,
            available=data["available"],
            max_open=data["max_open"],
            skill_ids=[int(pk) for pk in data["skills"]],
        )

    saved = form.is_valid() and _service(form, change)
    if _is_htmx(request):
        fresh = selectors.agent_routing([user.pk])[0]
        item = _agent_row(fresh, options) if saved else {"agent": fresh, "form": form}
        context = _context(request, item=item, saved=saved)
        return render(
            request, "routing/admin/_agent_row.html", context, status=200 if saved else 422
        )
    if not saved:
        return _page(request, status=422, agent_form=(user.pk, form))
    messages.success(request, _("Saved."))
    return _back("agents")
