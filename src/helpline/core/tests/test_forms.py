"""save_form: a valid form runs the service; what it refuses lands on the form."""

from __future__ import annotations

from django import forms

from helpline.core.errors import Conflict, ValidationError
from helpline.core.forms import save_form


class NameForm(forms.Form):
    name = forms.CharField()


def test_a_valid_form_runs_the_service_and_gives_its_result() -> None:
    form = NameForm({"name": " Sales "})
    assert save_form(form, lambda: form.cleaned_data["name"].upper()) == "SALES"
    assert form.errors == {}


def test_an_invalid_form_does_not_run_the_service() -> None:
    ran = []
    form = NameForm({"name": ""})
    assert save_form(form, lambda: ran.append(True)) is None
    assert ran == [] and list(form.errors) == ["name"]


def test_a_refusal_lands_on_the_first_field_it_names_that_the_form_has() -> None:
    def refuse() -> None:
        raise Conflict("A team with this name exists.", fields={"kind": "x", "name": "taken"})

    form = NameForm({"name": "Sales"})
    assert save_form(form, refuse) is None
    assert form.errors == {"name": ["A team with this name exists."]}


def test_a_refusal_about_no_field_of_the_form_lands_on_the_form() -> None:
    def refuse() -> None:
        raise ValidationError("Only support lines have a level.", fields={"level": "x"})

    form = NameForm({"name": "Sales"})
    assert save_form(form, refuse) is None
    assert form.non_field_errors() == ["Only support lines have a level."]
