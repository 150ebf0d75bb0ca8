"""Forms of the agent desk's queue: saved views, bulk actions, custom fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpline.tickets.models import CustomField, Priority, Status


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=100)
    shared = forms.BooleanField(label=_("Share with all agents"), required=False)


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Assign to"), choices=())

    def __init__(self, *args: Any, agents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = agents  # type: ignore[attr-defined]


class BulkForm(forms.Form):
    """One action on the selected tickets; the parameter it needs depends on the action."""

    ACTIONS = [
        ("assign", _("Assign to")),
        ("status", _("Set status")),
        ("priority", _("Set priority")),
        ("tag", _("Add tag")),
        ("transfer", _("Transfer to team")),
        ("merge", _("Merge into ticket")),
    ]

    ids = forms.TypedMultipleChoiceField(label=_("Tickets"), coerce=int, choices=())
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False, choices=())
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", "—"), *Status.choices]
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", "—"), *[(p.key, p.label) for p in Priority]],
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    team = forms.ChoiceField(label=_("Team"), required=False, choices=())
    target = forms.IntegerField(label=_("Ticket number"), required=False, min_value=1)

    REQUIRES = {
        "assign": "assignee",
        "status": "status",
        "priority": "priority",
        "tag": "tag",
        "transfer": "team",
        "merge": "target",
    }

    def __init__(
        self,
        *args: Any,
        agents: list[tuple[str, str]],
        teams: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            ("me", _("Me")),
            ("none", _("Nobody (unassign)")),
            *agents,
        ]
        self.fields["team"].choices = [("", "—"), *teams]  # type: ignore[attr-defined]

    def clean_ids(self) -> list[int]:
        return list(dict.fromkeys(self.cleaned_data["ids"]))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        needed = self.REQUIRES.get(cleaned.get("action", ""))
        if needed and cleaned.get(needed) in (None, ""):
            self.add_error(needed, _("Required for this action."))
        return cleaned


def custom_field_form_fields(definitions: list[CustomField]) -> dict[str, forms.Field]:
    """Form fields for the active custom fields, keyed `cf_<key>`; the services validate."""
    result: dict[str, forms.Field] = {}
    for definition in definitions:
        label = definition.label
        field: forms.Field
        if definition.type == CustomField.Type.CHOICE:
            choices = [("", "—"), *[(str(c), str(c)) for c in definition.choices]]
            field = forms.ChoiceField(label=label, required=False, choices=choices)
        elif definition.type == CustomField.Type.NUMBER:
            field = forms.DecimalField(label=label, required=False)
        elif definition.type == CustomField.Type.DATE:
            field = forms.DateField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
        else:
            field = forms.CharField(label=label, required=False, max_length=definition.max_length)
        result[f"cf_{definition.key}"] = field
    return result


class CustomFieldsForm(forms.Form):
    def __init__(self, *args: Any, definitions: list[CustomField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definitions = definitions
        self.fields.update(custom_field_form_fields(definitions))

    def values(self) -> dict[str, Any]:
        """Changed values as the services take them: None removes a value."""
        result: dict[str, Any] = {}
        for definition in self.definitions:
            value = self.cleaned_data.get(f"cf_{definition.key}")
            if value in ("", None):
                result[definition.key] = None
            elif definition.type == CustomField.Type.NUMBER:
                result[definition.key] = str(value)
            elif definition.type == CustomField.Type.DATE:
                result[definition.key] = value.isoformat()
            else:
                result[definition.key] = value
        return result
