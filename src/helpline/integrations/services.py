"""Writes for personal API tokens: create (plaintext shown once), revoke, authenticate.

A token reads `hl_<prefix>_<secret>`. The prefix finds the row; only the SHA-256 digest
of the secret is stored and it is compared in constant time. Tokens are never logged.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model, Q
from django.db.models.expressions import Col
from django.db.models.sql import Query
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.accounts.models import Organization, Role, User
from helpline.core.errors import AuthenticationFailed, PermissionDenied, ValidationError
from helpline.core.events import emit
from helpline.integrations import events
from helpline.integrations.models import SCOPES, ApiToken

M = TypeVar("M", bound=Model)

TOKEN_MARK = "hl"  # noqa: S105 (the token format marker, not a secret)
LAST_USED_EVERY = timedelta(minutes=1)

CUSTOMER_SCOPES = frozenset(
    {
        "tickets:read",
        "tickets:write",
        "search:read",
        "users:read",
        "users:write",
        "organizations:read",
        "categories:read",
    }
)
"""What a customer's session may do (users:write: their own profile; the services decide
which objects). Customers' tokens are limited to CUSTOMER_TOKEN_SCOPES."""

CUSTOMER_TOKEN_SCOPES = frozenset({"tickets:read", "tickets:write"})


def role_scopes(role: str) -> frozenset[str]:
    """All scopes a user of `role` holds (a session has exactly these)."""
    if role == Role.CUSTOMER:
        return CUSTOMER_SCOPES
    return frozenset(SCOPES)


def token_scopes_allowed(user: User) -> frozenset[str]:
    """The scopes a token of `user` may carry."""
    if user.role == Role.CUSTOMER:
        return CUSTOMER_TOKEN_SCOPES
    return role_scopes(user.role)


def effective_scopes(token: ApiToken, user: User) -> frozenset[str]:
    """A token's scopes, cut down to what its user's current role allows."""
    return frozenset(token.scopes) & role_scopes(user.role)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean_scopes(scopes: Iterable[str], user: User) -> list[str]:
    cleaned = sorted({scope.strip() for scope in scopes if scope.strip()})
    if not cleaned:
        raise ValidationError(_("Choose at least one scope."), fields={"scopes": "required"})
    unknown = [scope for scope in cleaned if scope not in SCOPES]
    if unknown:
        raise ValidationError(
            _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)},
            fields={"scopes": "invalid"},
        )
    beyond = [scope for scope in cleaned if scope not in token_scopes_allowed(user)]
    if beyond:
        raise ValidationError(
            _("This user may not hold scopes: %(scopes)s.") % {"scopes": ", ".join(beyond)},
            fields={"scopes": "not_allowed"},
        )
    return cleaned


def token_create(
    *,
    actor: User | None,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `user`; return it with the plaintext, which is never stored.

    Everybody may create tokens for themselves, administrators for anyone;
    `actor=None` is the system (CLI).
    """
    if actor is not None and actor.pk != user.pk and actor.role != Role.ADMIN:
        raise PermissionDenied(_("You may create tokens only for yourself."))
    if not user.is_active:
        raise ValidationError(_("The user is inactive."), fields={"user": "inactive"})
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Name is required."), fields={"name": "required"})
    if len(name) > 100:
        raise ValidationError(_("Name is too long."), fields={"name": "too_long"})
    cleaned = _clean_scopes(scopes, user)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("The expiry must be in the future."), fields={"expires_at": "past"})
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            digest=_digest(secret),
            scopes=cleaned,
            expires_at=expires_at,
        )
        emit(
            events.TokenCreated(token_id=token.pk, user_id=user.pk, scopes=cleaned),
            actor=actor,
            aggregate=("api_token", token.pk),
        )
    return token, f"{TOKEN_MARK}_{prefix}_{secret}"


def token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    """Revoke a token (its owner or an administrator). Revoking twice changes nothing."""
    if actor is not None and actor.pk != token.user_id and actor.role != Role.ADMIN:
        raise PermissionDenied(_("You may revoke only your own tokens."))
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        emit(
            events.TokenRevoked(token_id=locked.pk, user_id=locked.user_id),
            actor=actor,
            aggregate=("api_token", locked.pk),
        )
    return locked


def _parse(raw: str) -> tuple[str, str] | None:
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_MARK or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


# What `_token_with_user` reads, and each row's alias in its statement: the token, its
# user and the user's organization (deciding what a customer sees reads it).
_TOKEN_ROWS = ((ApiToken, "t"), (User, "u"), (Organization, "o"))


@dataclass(frozen=True)
class _TokenStatement:
    sql: str
    columns: list[Col]  # `_TOKEN_ROWS`' in turn
    fields: dict[str, tuple[int, int, list[str]]]  # alias: the row's columns, field names


@functools.cache
def _token_statement() -> _TokenStatement:
    """The SELECT of a token, its user and their organization by the token's prefix."""
    columns: list[Col] = []
    fields = {}
    for model, alias in _TOKEN_ROWS:
        start = len(columns)
        columns += [field.get_col(alias) for field in model._meta.concrete_fields]
        fields[alias] = (start, len(columns), [col.target.attname for col in columns[start:]])
    select = ", ".join(f'{col.alias}."{col.target.column}"' for col in columns)
    sql = (  # names from the models' metadata, the prefix a parameter
        f"SELECT {select} FROM {ApiToken._meta.db_table} t "  # noqa: S608
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {Organization._meta.db_table} o ON o.id = u.organization_id "
        "WHERE t.prefix = %s"
    )
    return _TokenStatement(sql, columns, fields)


@functools.cache
def _converted_columns(vendor: str) -> tuple[int, ...]:
    """Which of `_token_statement`'s columns the ORM converts on this database (dates,
    booleans and JSON on SQLite, JSON on PostgreSQL): looking up every column's converters
    on each request cost more than the rest of reading the token."""
    compiler = Query(ApiToken).get_compiler(connection=connection)
    return tuple(sorted(compiler.get_converters(_token_statement().columns)))


def _instance(model: type[M], alias: str, values: list[Any]) -> M:
    """The `model` instance of the statement's columns with this alias."""
    start, stop, fields = _token_statement().fields[alias]
    return model.from_db(connection.alias, fields, values[start:stop])


def _token_with_user(prefix: str) -> ApiToken | None:
    """The token with this prefix, its user and their organization loaded, as
    `ApiToken.objects.select_related("user__organization").filter(prefix=prefix).first()`
    reads them (the prefix is unique), but from a constant statement: every API request
    authenticates, and compiling that query cost about 0.7 ms of CPU, several times
    running it. The values go through the ORM's own converters
    (`SQLCompiler.get_converters`, as raw querysets do), so the instances are the same."""
    statement = _token_statement()
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    compiler = Query(ApiToken).get_compiler(connection=connection)
    converting = _converted_columns(connection.vendor)
    found = compiler.get_converters([statement.columns[index] for index in converting])
    converters = {converting[index]: value for index, value in found.items()}
    (values,) = compiler.apply_converters([row], converters)
    token = _instance(ApiToken, "t", values)
    user = _instance(User, "u", values)
    if user.organization_id is not None:
        user.organization = _instance(Organization, "o", values)
    token.user = user
    return token


def token_authenticate(raw: str, ip: str | None) -> tuple[User, ApiToken]:
    """The user and token for a presented token; AuthenticationFailed otherwise.

    Records last use (time and IP) at most once per minute per token.
    """
    parsed = _parse(raw)
    if parsed is None:
        raise AuthenticationFailed(_("Invalid token."))
    prefix, secret = parsed
    token = _token_with_user(prefix)
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
        raise AuthenticationFailed(_("Invalid token."))
    if not token.user.is_active:
        raise AuthenticationFailed(_("Invalid token."))
    if token.revoked_at is not None:
        raise AuthenticationFailed(_("Token revoked."))
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationFailed(_("Token expired."))
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # A conditional UPDATE: concurrent requests of one token write at most once.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now, last_used_ip=ip or None)
        token.last_used_at, token.last_used_ip = now, ip or None
    return token.user, token
