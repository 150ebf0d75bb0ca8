"""Sign in and out, the language switch and the user's own preferences."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpline.accounts import services
from helpline.accounts.forms import EmailAuthenticationForm, LanguageForm, PreferencesForm
from helpline.accounts.models import User
from helpline.core.errors import DomainError
from helpline.core.middleware import AuthenticatedRequest


def home_url(user: Any) -> str:
    """Where a signed-in user lands: the desk for staff, the portal for customers."""
    if user.is_authenticated and user.is_staff_member:
        return reverse("tickets:desk")
    return reverse("tickets:portal")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return home_url(self.request.user)


class LogoutView(auth_views.LogoutView):
    next_page = "accounts:login"


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return home_url(request.user)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language: stored on the user when signed in, in a cookie always."""
    form = LanguageForm(request.POST)
    response = HttpResponseRedirect(_safe_next(request))
    if not form.is_valid():
        return response
    language = form.cleaned_data["language"]
    if isinstance(request.user, User):
        services.user_update(actor=request.user, user=request.user, language=language)
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    initial = {
        "display_name": user.display_name,
        "phone": user.phone,
        "language": user.language,
        "time_zone": user.time_zone,
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=user, user=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your preferences are saved."))
            return HttpResponseRedirect(reverse("accounts:settings"))
    return render(request, "accounts/preferences.html", {"form": form, "area": "settings"})
