"""Events emitted by integrations (personal API tokens)."""

from __future__ import annotations

from helpline.core.events import DomainEvent


class TokenCreated(DomainEvent):
    type = "api_token.created"
    description = "A personal API token was created (never carries the secret)."
    token_id: int
    user_id: int
    scopes: list[str]


class TokenRevoked(DomainEvent):
    type = "api_token.revoked"
    description = "A personal API token was revoked."
    token_id: int
    user_id: int
