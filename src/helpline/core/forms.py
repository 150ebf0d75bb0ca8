"""What the HTMX screens' forms share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms

from helpline.core.errors import DomainError

T = TypeVar("T")


def save_form(form: forms.BaseForm, change: Callable[[], T]) -> T | None:
    """Validate the form, then run `change` (the service call); a domain error lands on the
    first field it names that the form has, otherwise on the whole form. What `change`
    returned, or None when the form is invalid or the service refused the change."""
    if not form.is_valid():
        return None
    try:
        return change()
    except DomainError as exc:
        for name in exc.fields or {}:
            if name in form.fields:
                form.add_error(name, exc.message)
                break
        else:
            form.add_error(None, exc.message)
        return None
