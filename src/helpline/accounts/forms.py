from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from helpline.accounts.mails import send_localized_mail
from helpline.accounts.models import User


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or the password is not correct."),
        "unconfirmed": _("Please confirm your e-mail address first: open the link we sent you."),
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            email = (self.cleaned_data.get("username") or "").strip()
            password = self.cleaned_data.get("password") or ""
            pending = User.objects.filter(
                email__iexact=email, is_active=False, last_login__isnull=True
            ).first()
            if pending is not None and pending.check_password(password):
                raise forms.ValidationError(
                    self.error_messages["unconfirmed"], code="unconfirmed"
                ) from None
            raise


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


def _time_zone_choices() -> list[tuple[str, Any]]:
    return [("", _("Server default"))] + [
        (name, name) for name in sorted(zoneinfo.available_timezones())
    ]


class PreferencesForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("From the browser")), *settings.LANGUAGES],
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=_time_zone_choices)


class SignUpForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    def clean_time_zone(self) -> str:
        name = self.cleaned_data.get("time_zone") or ""
        return name if name in zoneinfo.available_timezones() else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first)
            except DjangoValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class MagicLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class LocalizedPasswordResetForm(PasswordResetForm):
    """Password reset e-mails in the user's own language; accounts without a password yet
    (created from a request sent by e-mail or the portal) may set one this way too."""

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def get_users(self, email: str) -> Any:
        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        send_localized_mail(
            to=to_email,
            language=user.language or translation.get_language() or settings.LANGUAGE_CODE,
            template="password_reset",
            context=context,
        )
