"""API authentication: personal tokens (Bearer) and the browser session (CSRF enforced).

Both set `request.auth` to the User. `require_scope(request, "tickets:write")` checks the
scope: a token has its own scopes (cut to its user's role), a session has all scopes of
the user's role. Every authenticated request counts against the rate limit of its token
(or user); anonymous and failed attempts count against the client IP.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from helpline.accounts.models import User
from helpline.core.errors import AuthenticationFailed, PermissionDenied, RateLimited
from helpline.integrations import ratelimit
from helpline.integrations.models import ApiToken
from helpline.integrations.services import effective_scopes, role_scopes, token_authenticate


class InsufficientScope(PermissionDenied):
    code = "insufficient_scope"


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _limit(request: HttpRequest, key: str) -> None:
    retry_after = ratelimit.hit(key)
    if retry_after is not None:
        raise RateLimited(_("Too many requests."), retry_after=retry_after)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer hl_<prefix>_<secret>`."""

    def __call__(self, request: HttpRequest) -> Any:
        value = request.headers.get(self.header) or ""
        scheme, _sep, raw = value.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User:
        try:
            user, api_token = token_authenticate(token, client_ip(request))
        except AuthenticationFailed:
            _limit(request, f"ip:{client_ip(request)}")
            raise
        _limit(request, f"token:{api_token.pk}")
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """The Django session; CSRF is checked for unsafe methods of signed-in users."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            _limit(request, f"ip:{client_ip(request)}")
            return None
        if check_csrf(request) is not None:
            raise PermissionDenied(_("CSRF check failed."), code="csrf_failed")
        _limit(request, f"user:{user.pk}")
        request.api_token = None  # type: ignore[attr-defined]
        return user


def request_token(request: HttpRequest) -> ApiToken | None:
    """The token that authenticated the request (None for a session)."""
    return getattr(request, "api_token", None)


def request_scopes(request: HttpRequest) -> frozenset[str]:
    user: User = request.auth  # type: ignore[attr-defined]
    token = request_token(request)
    if token is None:
        return role_scopes(user.role)
    return effective_scopes(token, user)


def require_scope(request: HttpRequest, scope: str) -> User:
    """Return the authenticated user if the request holds `scope`; 403 otherwise."""
    if scope not in request_scopes(request):
        raise InsufficientScope(
            _("This request needs the scope %(scope)s.") % {"scope": scope},
            fields={"scope": scope},
        )
    return request.auth  # type: ignore[attr-defined]
