"""Domain errors: raised by services and access checks, mapped once to HTTP by the API."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class. `code` is stable and machine-readable; `message` is for people."""

    code = "error"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationError(DomainError):
    code = "validation_error"
    status = 422


class NotFound(DomainError):
    """Raised both for missing objects and for objects the actor may not see."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "Not found.", **kwargs: Any):
        super().__init__(message, **kwargs)


class PermissionDenied(DomainError):
    """The actor can see the object but may not perform this operation on it."""

    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    status = 401


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class Unavailable(DomainError):
    """The database is busy or unreachable (SQLite's write lock held past the busy timeout,
    a lock wait over PostgreSQL's timeout, no free pooled connection): try again shortly."""

    code = "unavailable"
    status = 503
    retry_after = 2
