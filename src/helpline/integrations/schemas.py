from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from helpline.api import InSchema


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    user_id: int
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    is_active: bool


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token. It is shown only in this response.")


class TokenIn(InSchema):
    name: str = Field(max_length=100)
    scopes: list[str] = Field(min_length=1)
    expires_at: datetime | None = None
    user_id: int | None = Field(None, description="Administrators only: the token's owner.")
