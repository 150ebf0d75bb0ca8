"""API schemas for users, organizations and teams (separate input and output per operation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from helpline.api import InSchema

RoleName = Literal["admin", "supervisor", "agent", "customer"]
TeamKind = Literal["line", "department"]


class UserOut(Schema):
    id: int
    email: str
    name: str
    display_name: str
    role: RoleName
    organization_id: int | None
    phone: str
    language: str
    time_zone: str
    is_active: bool
    date_joined: datetime


class UserCreateIn(InSchema):
    email: str = Field(max_length=254)
    role: RoleName = "customer"
    display_name: str = Field("", max_length=200)
    organization_id: int | None = None
    phone: str = Field("", max_length=50)
    language: str = Field("", max_length=10)
    time_zone: str = Field("", max_length=64)
    password: str | None = Field(None, description="Optional; users may reset it by e-mail.")


class UserUpdateIn(InSchema):
    display_name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=50)
    language: str | None = Field(None, max_length=10)
    time_zone: str | None = Field(None, max_length=64)
    role: RoleName | None = Field(None, description="Administrators only.")
    organization_id: int | None = Field(None, description="Administrators only.")
    is_active: bool | None = Field(None, description="Administrators only.")


class OrganizationOut(Schema):
    id: int
    name: str
    domains: list[str]
    match_by_domain: bool
    members_see_all_tickets: bool
    plan: str | None = Field(None, description="The support plan's code.")
    service_manager_id: int | None
    notes: str = Field(description="Internal notes: empty for customers.")
    created_at: datetime

    @staticmethod
    def resolve_plan(obj: Any) -> str | None:
        return obj.plan.code if obj.plan_id else None

    @staticmethod
    def resolve_notes(obj: Any, context: dict[str, Any]) -> str:
        viewer = context["request"].auth
        return str(obj.notes) if viewer.is_staff_member else ""


class OrganizationIn(InSchema):
    name: str = Field(max_length=200)
    domains: list[str] = Field(default_factory=list)
    match_by_domain: bool = False
    members_see_all_tickets: bool = True
    plan: str | None = Field(None, description="A support plan's code.")
    service_manager_id: int | None = None
    notes: str = ""


class OrganizationUpdateIn(InSchema):
    name: str | None = Field(None, max_length=200)
    domains: list[str] | None = None
    match_by_domain: bool | None = None
    members_see_all_tickets: bool | None = None
    plan: str | None = None
    service_manager_id: int | None = None
    notes: str | None = None


class TeamMemberOut(Schema):
    user_id: int
    email: str
    name: str
    is_lead: bool

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return str(obj.user.email)

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.user.name)


class TeamOut(Schema):
    id: int
    name: str
    kind: TeamKind
    level: int | None
    department_id: int | None
    description: str
    is_default: bool
    members: list[TeamMemberOut]

    @staticmethod
    def resolve_members(obj: Any) -> list[Any]:
        return list(obj.teammembership_set.all())


class TeamIn(InSchema):
    name: str = Field(max_length=100)
    kind: TeamKind
    level: int | None = Field(None, ge=1)
    department_id: int | None = None
    description: str = ""
    is_default: bool = False


class TeamUpdateIn(InSchema):
    name: str | None = Field(None, max_length=100)
    level: int | None = Field(None, ge=1)
    department_id: int | None = None
    description: str | None = None
    is_default: bool | None = None


class TeamMemberIn(InSchema):
    user_id: int
    is_lead: bool = False
