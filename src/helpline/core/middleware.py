"""Per-user language and time zone, applied to every request of a signed-in user.

`LocaleMiddleware` picks the language from the language cookie or the browser's
Accept-Language; this middleware (placed after authentication) overrides it with the
language and time zone the user chose in their profile.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from helpline.accounts.models import User


class AuthenticatedRequest(HttpRequest):
    """The request of a view behind `login_required` (for type checking)."""

    user: User


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def supported_language(code: str) -> str | None:
    """The configured language for `code` (case-insensitive), or None."""
    wanted = (code or "").strip().lower()
    for language, _name in settings.LANGUAGES:
        if language.lower() == wanted:
            return language
    return None


class UserPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = None
        if user is not None and user.is_authenticated:
            language = supported_language(user.language)
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
            zone = _zone(user.time_zone) if user.time_zone else None
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
