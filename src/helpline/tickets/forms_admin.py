"""Forms of the desk's admin screens. They parse input; the accounts/catalog services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Role, Team
from helpline.tickets.models import CustomField


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class ChoicesMixin:
    """Fill the choices of reference fields (organizations, teams, agents) given as lists."""

    fields: dict[str, Any]

    def set_choices(self, name: str, choices: list[tuple[str, str]], empty: bool = True) -> None:
        if name in self.fields:
            self.fields[name].choices = [("", "—"), *choices] if empty else choices


class UserForm(ChoicesMixin, forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    display_name = forms.CharField(label=_("Name"), required=False, max_length=200)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    organization = forms.ChoiceField(label=_("Organization"), required=False, choices=())
    phone = forms.CharField(label=_("Phone"), required=False, max_length=50)
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", "—"), *settings.LANGUAGES]
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(
        self, *args: Any, organizations: list[tuple[str, str]], edit: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("organization", organizations)
        if edit:
            del self.fields["email"]
        else:
            del self.fields["is_active"]


class TeamForm(ChoicesMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=Team.Kind.choices)
    level = forms.IntegerField(
        label=_("Line level"),
        required=False,
        min_value=1,
        help_text=_("Support lines: 1, 2, 3 ..."),
    )
    department = forms.ChoiceField(label=_("Department"), required=False, choices=())
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_default = forms.BooleanField(label=_("Receives tickets with no team"), required=False)

    def __init__(
        self, *args: Any, departments: list[tuple[str, str]], edit: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("department", departments)
        if edit:
            del self.fields["kind"]


class MembershipForm(ChoicesMixin, forms.Form):
    user = forms.ChoiceField(label=_("Agent"), choices=())
    is_lead = forms.BooleanField(label=_("Team lead"), required=False)

    def __init__(self, *args: Any, agents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("user", agents, empty=False)


class OrganizationForm(ChoicesMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    domains = forms.CharField(
        label=_("E-mail domains"), required=False, help_text=_("Separate domains with commas.")
    )
    match_by_domain = forms.BooleanField(
        label=_("New senders from these domains join this organization"), required=False
    )
    members_see_all_tickets = forms.BooleanField(
        label=_("Members see each other's tickets"), required=False, initial=True
    )
    plan = forms.ChoiceField(label=_("Support plan"), required=False, choices=())
    service_manager = forms.ChoiceField(label=_("Service manager"), required=False, choices=())
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        plans: list[tuple[str, str]],
        agents: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("plan", plans)
        self.set_choices("service_manager", agents)

    def clean_domains(self) -> list[str]:
        return _comma_list(self.cleaned_data["domains"])


class CategoryForm(ChoicesMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ChoiceField(label=_("Parent category"), required=False, choices=())
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def __init__(
        self, *args: Any, categories: list[tuple[str, str]], edit: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.set_choices("parent", categories)
        if not edit:
            del self.fields["is_active"]


class CustomFieldForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=50)
    label = forms.CharField(label=_("Label"), max_length=100)
    type = forms.ChoiceField(label=_("Type"), choices=CustomField.Type.choices)
    choices = forms.CharField(
        label=_("Choices"), required=False, help_text=_("Choice fields: separate with commas.")
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    max_length = forms.IntegerField(label=_("Maximum length"), min_value=1, initial=1000)
    visible_to_customers = forms.BooleanField(label=_("Visible to customers"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def __init__(self, *args: Any, edit: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if edit:
            del self.fields["key"]
            del self.fields["type"]
        else:
            del self.fields["is_active"]

    def clean_choices(self) -> list[str]:
        return _comma_list(self.cleaned_data["choices"])


class StatusForm(forms.Form):
    pauses_sla = forms.BooleanField(label=_("Pauses SLA clocks"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0)
