"""Sign in and out (password or magic link), sign-up with e-mail verification, password
reset, the language switch and the user's own preferences.

Sign-in, sign-up, magic-link and reset requests are rate-limited per e-mail address
(`HELPLINE_SIGNIN_RATE_LIMIT`) and per client address (ten times that)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpline.accounts import selfservice, services
from helpline.accounts.forms import (
    EmailAuthenticationForm,
    LanguageForm,
    LocalizedPasswordResetForm,
    MagicLinkForm,
    PreferencesForm,
    SignUpForm,
)
from helpline.accounts.models import User
from helpline.core.errors import DomainError
from helpline.core.middleware import AuthenticatedRequest, supported_language
from helpline.integrations import ratelimit


def home_url(user: Any) -> str:
    """Where a signed-in user lands: the desk for staff, the portal for customers."""
    if user.is_authenticated and user.is_staff_member:
        return reverse("tickets:desk")
    return reverse("tickets:portal")


def throttled(request: HttpRequest, scope: str, email: str = "") -> int | None:
    """Count one attempt of `scope` by this client (and for this address); None if allowed,
    else the seconds to wait."""
    count, seconds = ratelimit.parse_rate(settings.HELPLINE_SIGNIN_RATE_LIMIT)
    # One address may share a client address (an office behind NAT): ten times as many.
    keys = [(f"{scope}:ip:{request.META.get('REMOTE_ADDR', '')}", f"{count * 10}/{seconds}")]
    if email:
        keys.append((f"{scope}:email:{email.strip().lower()}", f"{count}/{seconds}"))
    waits = [wait for key, rate in keys if (wait := ratelimit.hit(key, rate)) is not None]
    return max(waits) if waits else None


def too_many(request: HttpRequest, template: str, context: dict[str, Any], wait: int) -> Any:
    """The page of a refused attempt: 429 with the reason and Retry-After."""
    context["throttle_error"] = _(
        "Too many attempts. Please wait %(seconds)s seconds and try again."
    ) % {"seconds": wait}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return home_url(self.request.user)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = throttled(request, "signin", request.POST.get("username", ""))
        if wait is not None:
            context = self.get_context_data(form=self.get_form_class()(request))
            return too_many(request, self.template_name, context, wait)
        return super().post(request, *args, **kwargs)


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


# --- sign-up and e-mail verification ----------------------------------------------------------


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(home_url(request.user))
    form = SignUpForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "area": "signup"}
    if request.method == "POST":
        wait = throttled(request, "signup", request.POST.get("email", ""))
        if wait is not None:
            return too_many(request, "accounts/signup.html", context, wait)
        if form.is_valid():
            cleaned = form.cleaned_data
            try:
                selfservice.customer_sign_up(
                    email=cleaned["email"],
                    password=cleaned["password1"],
                    display_name=cleaned["display_name"],
                    language=supported_language(translation.get_language() or "") or "",
                    time_zone=cleaned["time_zone"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return render(
                    request,
                    "accounts/check_email.html",
                    {"email": cleaned["email"], "reason": "signup"},
                )
    return render(request, "accounts/signup.html", context)


def verify(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        selfservice.email_verify(uidb64=uidb64, token=token)
    except DomainError as exc:
        return render(request, "accounts/link_error.html", {"error": exc.message}, status=400)
    messages.success(request, _("Your e-mail address is confirmed. You can sign in now."))
    return HttpResponseRedirect(reverse("accounts:login"))


# --- magic links ------------------------------------------------------------------------------


def magic_link_request(request: HttpRequest) -> HttpResponse:
    form = MagicLinkForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST":
        wait = throttled(request, "magic", request.POST.get("email", ""))
        if wait is not None:
            return too_many(request, "accounts/magic_link_request.html", context, wait)
        if form.is_valid():
            selfservice.magic_link_send(email=form.cleaned_data["email"])
            return render(
                request,
                "accounts/check_email.html",
                {"email": form.cleaned_data["email"], "reason": "magic_link"},
            )
    return render(request, "accounts/magic_link_request.html", context)


def magic_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that open links do not sign anybody in);
    POST signs in, which makes the link used."""
    try:
        user = selfservice.magic_link_user(token)
    except DomainError as exc:
        return render(
            request,
            "accounts/link_error.html",
            {"error": exc.message, "magic": True},
            status=400,
        )
    if request.method != "POST":
        return render(request, "accounts/magic_link.html", {"link_user": user})
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    return HttpResponseRedirect(home_url(user))


# --- password reset (Django's token machinery, e-mails in the user's language) ----------------


class PasswordResetView(auth_views.PasswordResetView):
    form_class = LocalizedPasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = throttled(request, "reset", request.POST.get("email", ""))
        if wait is not None:
            context = self.get_context_data(form=self.get_form())
            return too_many(request, self.template_name, context, wait)
        return super().post(request, *args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/check_email.html"
    extra_context = {"reason": "reset"}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, _("Your new password is set. You can sign in now."))
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")
    extra_context = {"area": "settings"}

    def get_form_class(self) -> Any:
        """Accounts made from a request or signed in by link have no password to confirm."""
        if isinstance(self.request.user, User) and self.request.user.has_usable_password():
            return PasswordChangeForm
        return SetPasswordForm

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, _("Your new password is set."))
        return super().form_valid(form)
