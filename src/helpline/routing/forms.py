"""Forms of the desk's routing screens. They parse input; routing.services and
routing.config decide (and validate again)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Team
from helpline.routing.models import RoutingRule, Skill, TeamRouting
from helpline.tickets.models import Channel, Priority

PRIORITIES = [(p.name.lower(), p.label) for p in Priority]
COMMA_HELP = _("Separate several with commas.")
# What the services' field codes mean, for the person filling the form.
SERVICE_ERRORS = {
    "team": _("A rule must set a team, a priority or tags."),
    "add_tags": _("Tags are words of letters, digits and dashes."),
    "languages": _("Each entry is at most 100 characters."),
    "sender_domains": _("Each entry is at most 100 characters."),
    "keywords": _("Each entry is at most 100 characters."),
    "name": _("A skill or rule with this name exists."),
    "category": _("A category skill needs a category."),
    "value": _("A language or product skill needs a value."),
    "max_open": _("Capacity must be at least 1."),
}


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _multi(label: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, required=False, choices=(), widget=forms.SelectMultiple(attrs={"size": 4})
    )


def _text(label: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=2000, help_text=COMMA_HELP)


class StrategyForm(forms.Form):
    strategy = forms.ChoiceField(label=_("Strategy"), choices=TeamRouting.Strategy.choices)


class RuleForm(forms.Form):
    """A routing rule: conditions (all must hold; empty matches anything) and actions."""

    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    channels = _multi(_("Channels"))
    category_ids = _multi(_("Categories (and their subcategories)"))
    organization_ids = _multi(_("Organizations"))
    plan_ids = _multi(_("Support plans"))
    priorities = _multi(_("Priorities"))
    languages = _text(_("Requester's languages (codes such as en, ru, zh)"))
    sender_domains = _text(_("Sender domains"))
    keywords = _text(_("Keywords in the subject or text (any)"))
    team = forms.ChoiceField(label=_("Send to team"), required=False, choices=())
    set_priority = forms.ChoiceField(
        label=_("Set priority"), required=False, choices=[("", "—"), *PRIORITIES]
    )
    add_tags = _text(_("Add tags"))

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        organizations: list[tuple[str, str]],
        plans: list[tuple[str, str]],
        teams: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = {
            "channels": Channel.choices,
            "category_ids": categories,
            "organization_ids": organizations,
            "plan_ids": plans,
            "priorities": PRIORITIES,
            "team": [("", "—"), *teams],
        }
        for name, options in choices.items():
            self.fields[name].choices = options  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(rule: RoutingRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            "channels": rule.channels,
            "category_ids": [str(pk) for pk in rule.category_ids],
            "organization_ids": [str(pk) for pk in rule.organization_ids],
            "plan_ids": [str(pk) for pk in rule.plan_ids],
            "priorities": rule.priorities,
            "languages": ", ".join(rule.languages),
            "sender_domains": ", ".join(rule.sender_domains),
            "keywords": ", ".join(rule.keywords),
            "team": str(rule.team_id or ""),
            "set_priority": rule.set_priority,
            "add_tags": ", ".join(rule.add_tags),
        }

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "is_active": data["is_active"],
            "channels": list(data["channels"]),
            "category_ids": [int(pk) for pk in data["category_ids"]],
            "organization_ids": [int(pk) for pk in data["organization_ids"]],
            "plan_ids": [int(pk) for pk in data["plan_ids"]],
            "priorities": list(data["priorities"]),
            "languages": comma_list(data["languages"]),
            "sender_domains": comma_list(data["sender_domains"]),
            "keywords": comma_list(data["keywords"]),
            "team": Team.objects.filter(pk=data["team"]).first() if data["team"] else None,
            "set_priority": data["set_priority"],
            "add_tags": comma_list(data["add_tags"]),
        }


class SkillForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=Skill.Kind.choices)
    category = forms.ChoiceField(label=_("Category (category skills)"), required=False, choices=())
    value = forms.CharField(
        label=_("Language code or product tag (other skills)"), required=False, max_length=50
    )

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]


class AgentForm(forms.Form):
    """One row of the agents' table: availability, capacity and skills."""

    available = forms.BooleanField(label=_("Available"), required=False)
    max_open = forms.IntegerField(
        label=_("Capacity"),
        required=False,
        min_value=1,
        help_text=_("The most open tickets routing gives this agent; empty: no limit."),
    )
    skills = _multi(_("Skills"))

    def __init__(self, *args: Any, skills: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["skills"].choices = skills  # type: ignore[attr-defined]
