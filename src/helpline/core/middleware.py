"""Per-user language and time zone, applied to every request of a signed-in user.

`LocaleMiddleware` picks the language from the language cookie or the browser's
Accept-Language; this middleware (placed after authentication) overrides it with the
language and time zone the user chose in their profile.

`DatabaseUnavailableMiddleware` answers a page whose database was busy or unreachable with
503 and Retry-After instead of a server error.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation

from helpline.accounts.models import User
from helpline.core.errors import Unavailable


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


logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A view that failed because the database was busy or unreachable (SQLite's write lock
    held past the busy timeout, a lock wait past PostgreSQL's timeout, no free pooled
    connection) answers 503 with Retry-After instead of a server error. The page is rendered
    without the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(Unavailable.retry_after)
        return response
