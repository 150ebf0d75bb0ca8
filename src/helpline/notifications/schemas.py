"""API schemas: e-mail deliveries, notification switches, sender identities."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from helpline.api import InSchema

DeliveryStatus = Literal["queued", "sent", "retrying", "failed"]
DeliveryKind = Literal["reply", "ticket_received", "solved", "assigned", "customer_replied"]


class DeliveryOut(Schema):
    id: int
    kind: DeliveryKind
    message_id: str = Field(description="The Message-ID header, without angle brackets.")
    ticket_message_id: int | None = Field(description="The ticket message the e-mail carries.")
    recipients: list[str]
    subject: str
    status: DeliveryStatus
    attempts: int
    last_error: str = Field(description="The SMTP server's last answer (or the error).")
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime


class NotificationsOut(Schema):
    """Each e-mail kind the user receives (true) or switched off (false)."""

    reply: bool = Field(description="Customers: agents' replies to your requests.")
    ticket_received: bool = Field(description="Customers: confirmation of a new request.")
    solved: bool = Field(description="Customers: your request was solved.")
    assigned: bool = Field(description="Agents: a ticket was assigned to you.")
    customer_replied: bool = Field(description="Agents: a customer replied on your ticket.")


class NotificationsIn(InSchema):
    """The switches to change; kinds left out keep their setting."""

    reply: bool | None = None
    ticket_received: bool | None = None
    solved: bool | None = None
    assigned: bool | None = None
    customer_replied: bool | None = None


Security = Literal["none", "starttls", "ssl"]


class SenderIdentityOut(Schema):
    id: int
    name: str
    address: str
    display_name: str
    team_id: int | None
    is_default: bool
    is_active: bool
    host: str = Field(description="SMTP server; empty: the configured EMAIL_BACKEND.")
    port: int
    security: Security
    username: str
    has_password: bool = Field(description="A password is stored (it is never returned).")
    notify_reply: bool
    notify_ticket_received: bool
    notify_solved: bool
    notify_assigned: bool
    notify_customer_replied: bool

    @staticmethod
    def resolve_has_password(obj: object) -> bool:
        return bool(getattr(obj, "password_encrypted", ""))


class SenderIdentityIn(InSchema):
    name: str = Field(max_length=100)
    address: str = Field(max_length=254)
    display_name: str = Field("", max_length=100)
    team_id: int | None = None
    is_default: bool = False
    is_active: bool = True
    host: str = Field("", max_length=255)
    port: int = Field(587, ge=1, le=65535)
    security: Security = "starttls"
    username: str = Field("", max_length=255)
    password: str = Field("", max_length=500, description="Write-only.")
    notify_reply: bool = True
    notify_ticket_received: bool = True
    notify_solved: bool = True
    notify_assigned: bool = True
    notify_customer_replied: bool = True


class SenderIdentityPatchIn(InSchema):
    name: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=254)
    display_name: str | None = Field(None, max_length=100)
    team_id: int | None = None
    is_default: bool | None = None
    is_active: bool | None = None
    host: str | None = Field(None, max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    security: Security | None = None
    username: str | None = Field(None, max_length=255)
    password: str | None = Field(None, max_length=500, description='Write-only; "" clears.')
    notify_reply: bool | None = None
    notify_ticket_received: bool | None = None
    notify_solved: bool | None = None
    notify_assigned: bool | None = None
    notify_customer_replied: bool | None = None
