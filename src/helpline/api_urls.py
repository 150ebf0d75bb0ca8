"""URLs under /api/v1/ and the router registry of the API.

Register a router with one line below (an import path string keeps this module free of
import cycles). Every ninja view is wrapped so that "method not allowed" answers in the
API's error shape; anything else under /api/v1/ is a JSON 404.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils.translation import gettext as _

from helpline.api import api, error_response

api.add_router("/users", "helpline.accounts.api.users")
api.add_router("/organizations", "helpline.accounts.api.organizations")
api.add_router("/teams", "helpline.accounts.api.teams")
api.add_router("/categories", "helpline.tickets.catalog_api.categories")
api.add_router("/custom-fields", "helpline.tickets.catalog_api.custom_fields")
api.add_router("/tokens", "helpline.integrations.api.router")
api.add_router("/tickets", "helpline.notifications.api.tickets")
api.add_router("/me", "helpline.notifications.api.me")
api.add_router("/sender-identities", "helpline.notifications.api.identities")
api.add_router("/mail", "helpline.mail.api.router")
api.add_router("/mailboxes", "helpline.mail.api.mailboxes")
api.add_router("/sla", "helpline.sla.api.router")
api.add_router("/routing", "helpline.routing.api.router")
api.add_router("/me", "helpline.routing.api.me")
api.add_router("/tickets", "helpline.sla.api.ticket_sla")
api.add_router("", "helpline.tickets.api_bulk.router")
api.add_router("", "helpline.tickets.api.router")


def _json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            response = error_response(405, "method_not_allowed", _("Method not allowed."))
            response["Allow"] = allowed
        return response

    return wrapper


def _wrap(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    wrapped: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLPattern):
            entry = URLPattern(
                entry.pattern,
                _json_method_not_allowed(entry.callback),
                entry.default_args,
                entry.name,
            )
        wrapped.append(entry)
    return wrapped


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response(404, "not_found", _("No such API endpoint."))


_patterns, _app_name, _namespace = api.urls

urlpatterns: list[Any] = [
    path("", (_wrap(_patterns), _app_name, _namespace)),
    re_path(r"^(?P<path>.*)$", not_found),
]
