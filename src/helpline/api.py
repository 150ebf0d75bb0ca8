"""The REST API v1: one NinjaAPI, one router per app, one error shape.

How to write a router (the ticket router follows the same recipe)
------------------------------------------------------------------
::

    from ninja import Query, Router, Status

    from helpline.api import InSchema, Page, PageParams, paginate, require_scope

    router = Router(tags=["tickets"])

    class TicketIn(InSchema):          # unknown fields -> 422 (extra="forbid")
        subject: str

    class TicketPatchIn(InSchema):     # PATCH: payload.changes(nullable={"assignee_id"})
        subject: str | None = None
        assignee_id: int | None = None

    @router.get("", response=Page[TicketOut])
    def list_tickets(request, page: Query[PageParams], status: list[str] = Query([])):
        actor = require_scope(request, "tickets:read")   # 403 insufficient_scope
        queryset = selectors.ticket_list(actor=actor, ...)
        return paginate(queryset, page, order_by="-updated_at")

    @router.post("", response={201: TicketOut})
    def create_ticket(request, payload: TicketIn):
        actor = require_scope(request, "tickets:write")
        return Status(201, services.ticket_create(actor=actor, **payload.model_dump()))

Then register it with ONE line in `helpline/api_urls.py` (the router registry, kept out of
this module so routers can import from here without import cycles)::

    api.add_router("/tickets", "helpline.tickets.api.router")

Authentication (every operation, unless it passes `auth=None`)
    `Authorization: Bearer hl_<prefix>_<secret>` (personal tokens, see
    `helpline.integrations.services`) or the Django session cookie, with CSRF enforced for
    unsafe methods. `request.auth` is the `User`. `require_scope(request, "area:read|write")`
    returns that user or raises 403 `insufficient_scope`; a session holds every scope of its
    user's role (`integrations.services.role_scopes`), a token only its own scopes cut down to
    its user's role. Scopes say which *areas* a client may touch; which *objects* it sees is
    still decided by selectors/access functions (404 for missing and not-yours alike).

Rate limit
    `settings.HELPLINE_API_RATE_LIMIT` ("600/60" = requests/seconds) per token, per user for
    sessions, per IP for anonymous and failed attempts; 429 `rate_limited` with Retry-After.

Errors: always `{"error": {"code": str, "message": str, "fields": {path: message}}}`
    - `helpline.core.errors.DomainError` subclasses -> their `status` and `code`;
    - request validation -> 422 `validation_error`, `fields` keyed by dotted path inside the
      body / query (`"items.0.name"`), unknown body fields included (`extra_forbidden`);
    - body not JSON -> 400 `invalid_json`; JSON body with another content type -> 415
      `unsupported_media_type`; body over `settings.HELPLINE_MAX_JSON_BYTES` (or Django's
      DATA_UPLOAD_MAX_MEMORY_SIZE) -> 413 `payload_too_large`;
    - no or bad credentials -> 401 `authentication_failed` (with WWW-Authenticate);
    - unknown route under /api/v1/ -> 404 `not_found`; wrong method -> 405
      `method_not_allowed` (see api_urls.py);
    - the database busy or unreachable (`django.db.OperationalError`: SQLite's write lock
      held past the busy timeout, a lock wait past PostgreSQL's timeout, no free pooled
      connection) -> 503 `unavailable` with Retry-After;
    - anything unexpected -> 500 `server_error`, logged, no details leaked.
    Every operation documents this shape as its `default` response in the OpenAPI schema, so
    handlers only declare their success responses.

Pagination
    `paginate(queryset, page, order_by="-updated_at")` -> `{"items", "next_cursor"}`: keyset
    over one non-null sortable field plus `id` (same direction), opaque base64 cursor bound
    to the ordering; `PageParams` gives `cursor` and `limit` (default 50, max 200). A cursor
    that cannot be decoded or was made for another ordering -> 400 `invalid_cursor`.

Testing
    `helpline.core.api_testing.api_call(client, "get", "/api/v1/...", user=..., token=...)`
    performs the request and asserts the response matches the documented schema.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import ConfigDict, Field

from helpline.core.errors import DomainError, PayloadTooLarge, RateLimited, Unavailable
from helpline.core.errors import ValidationError as DomainValidationError
from helpline.integrations.auth import SessionAuth, TokenAuth, require_scope

__all__ = [
    "ErrorOut",
    "InSchema",
    "InvalidCursor",
    "Page",
    "PageParams",
    "api",
    "error_response",
    "paginate",
    "require_scope",
]

logger = logging.getLogger("helpline.api")

T = TypeVar("T")


# --- schemas ----------------------------------------------------------------------------


class InSchema(Schema):
    """Base of every input schema: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")

    def changes(self, *, nullable: Iterable[str] = ()) -> dict[str, Any]:
        """The fields the client sent (PATCH semantics); `null` only where `nullable` says.

        Declare PATCH fields as `name: str | None = None` and list the ones that may really
        be cleared in `nullable`; an explicit null anywhere else is a 422.
        """
        sent = self.model_dump(exclude_unset=True)
        allowed = set(nullable)
        nulls = [name for name, value in sent.items() if value is None and name not in allowed]
        if nulls:
            raise DomainValidationError(
                _("These fields may not be null."), fields={name: "null" for name in nulls}
            )
        return sent


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, Any]


class ErrorOut(Schema):
    error: ErrorBody


# --- errors -----------------------------------------------------------------------------


class InvalidJson(DomainError):
    code = "invalid_json"
    status = 400


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    status = 400


def error_response(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> JsonResponse:
    """A response in the API's one error shape (also used outside ninja, see api_urls)."""
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
    return JsonResponse(body, status=status)


def _domain_error(exc: DomainError) -> HttpResponse:
    response = error_response(exc.status, exc.code, exc.message, exc.fields)
    if isinstance(exc, RateLimited | Unavailable):
        response["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _validation_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", <param name>, *path) for the JSON body; ("query", *path) and so on.
        path = loc[2:] if loc[:1] == ["body"] else loc[1:]
        fields.setdefault(".".join(path) or (loc[0] if loc else "body"), str(error["msg"]))
    return fields


class HelplineAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Document the error shape once, as every operation's `default` response."""
        schema = super().get_openapi_schema(**kwargs)
        definition = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(definition.pop("$defs", {}))
        components["ErrorOut"] = definition
        default = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.setdefault("responses", {}).setdefault("default", default)
        return schema


class JsonParser(Parser):
    """JSON bodies only, size-limited; failures become the API's error shape."""

    def parse_body(self, request: HttpRequest) -> Any:
        limit = settings.HELPLINE_MAX_JSON_BYTES
        too_large = PayloadTooLarge(
            _("The request body is larger than %(limit)d bytes.") % {"limit": limit}
        )
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise too_large
        content_type = request.content_type or ""
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(_("Send the request body as application/json."))
        body = request.body
        if len(body) > limit:
            raise too_large
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidJson(_("The request body is not valid JSON.")) from None


api = HelplineAPI(
    title="Helpline API",
    version="1.0.0",
    description="The Helpline REST API. Errors always read "
    '`{"error": {"code", "message", "fields"}}`.',
    urls_namespace="api-v1",
    docs_url="/docs",
    auth=[TokenAuth(), SessionAuth()],
    parser=JsonParser(),
)


@api.exception_handler(DomainError)
def _on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _domain_error(exc)


@api.exception_handler(NinjaValidationError)
def _on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return error_response(
        422, "validation_error", _("The request is invalid."), _validation_fields(exc.errors)
    )


@api.exception_handler(AuthenticationError)
def _on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(401, "authentication_failed", _("Authentication required."))
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps parser failures in HttpError(400); the cause says what really happened.
    cause = exc.__cause__
    if isinstance(cause, DomainError):
        return _domain_error(cause)
    if isinstance(cause, RequestDataTooBig):
        return _on_too_big(request, cause)
    return error_response(exc.status_code, "http_error", exc.message)


@api.exception_handler(RequestDataTooBig)
def _on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(413, PayloadTooLarge.code, _("The request body is too large."))


@api.exception_handler(DjangoPermissionDenied)
def _on_django_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return error_response(403, "permission_denied", _("You may not do this."))


@api.exception_handler(Http404)
def _on_http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


@api.exception_handler(OperationalError)
def _on_database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    logger.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    return _domain_error(Unavailable(_("The service is busy. Please try again in a moment.")))


@api.exception_handler(Exception)
def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "server_error", _("Something went wrong on our side."))


# --- cursor pagination ------------------------------------------------------------------


class PageParams(Schema):
    """Query parameters of every list endpoint: `?cursor=...&limit=50`."""

    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if value is None or not isinstance(value, str | int | float | bool):
        raise ValueError(f"cannot paginate on value {value!r}: use a non-null scalar field")
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"dt"}:
            return datetime.fromisoformat(value["dt"])
        if set(value) == {"d"}:
            return date.fromisoformat(value["d"])
        raise ValueError("unknown value")
    if value is None:
        raise ValueError("null value")
    return value


def encode_cursor(order_by: str, value: Any, pk: Any) -> str:
    raw = json.dumps({"o": order_by, "v": _encode_value(value), "i": pk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order_by: str) -> tuple[Any, Any]:
    """The (sort value, id) a cursor points after; InvalidCursor if it is not ours."""
    invalid = InvalidCursor(_("The cursor is invalid."), fields={"cursor": "invalid"})
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("o") != order_by:
            raise invalid
        pk = data["i"]
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise invalid
        return _decode_value(data["v"]), pk
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid from None


def paginate(queryset: QuerySet[Any], page: PageParams, *, order_by: str = "id") -> dict[str, Any]:
    """One page of `queryset` in keyset order: `{"items": [...], "next_cursor": str|None}`.

    `order_by` is one non-null field (or annotation) of the model, with "-" for descending
    ("-updated_at", "created_at", "-priority"); `id` breaks ties in the same direction.
    """
    descending = order_by.startswith("-")
    field = order_by.lstrip("-")
    if field == "pk":
        field = "id"
    sign = "-" if descending else ""
    ordering = [f"{sign}{field}"] if field == "id" else [f"{sign}{field}", f"{sign}id"]
    queryset = queryset.order_by(*ordering)
    if page.cursor:
        value, pk = decode_cursor(page.cursor, order_by)
        op = "lt" if descending else "gt"
        if field == "id":
            condition = Q(**{f"id__{op}": pk})
        else:
            condition = Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk})
        queryset = queryset.filter(condition)
    rows: list[Model] = list(queryset[: page.limit + 1])
    items = rows[: page.limit]
    next_cursor = None
    if len(rows) > page.limit:
        last = items[-1]
        next_cursor = encode_cursor(order_by, getattr(last, field), last.pk)
    return {"items": items, "next_cursor": next_cursor}
