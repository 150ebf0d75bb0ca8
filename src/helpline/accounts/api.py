"""/api/v1/users, /organizations and /teams."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from helpline.accounts import selectors, services
from helpline.accounts.models import Organization, SupportPlan, Team, User
from helpline.accounts.schemas import (
    OrganizationIn,
    OrganizationOut,
    OrganizationUpdateIn,
    RoleName,
    TeamIn,
    TeamMemberIn,
    TeamOut,
    TeamUpdateIn,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
)
from helpline.api import Page, PageParams, paginate, require_scope
from helpline.core.errors import ValidationError

users = Router(tags=["users"])
organizations = Router(tags=["organizations"])
teams = Router(tags=["teams"])


def _organization_ref(actor: User, organization_id: int | None) -> Organization | None:
    if organization_id is None:
        return None
    organization = selectors.visible_organizations(actor).filter(pk=organization_id).first()
    if organization is None:
        raise ValidationError(_("Unknown organization."), fields={"organization_id": "not_found"})
    return organization


def _user_ref(actor: User, user_id: int, field: str) -> User:
    user = selectors.visible_users(actor).filter(pk=user_id).first()
    if user is None:
        raise ValidationError(_("Unknown user."), fields={field: "not_found"})
    return user


def _manager_ref(actor: User, user_id: int | None) -> User | None:
    return None if user_id is None else _user_ref(actor, user_id, "service_manager_id")


def _plan_ref(code: str | None) -> SupportPlan | None:
    if code is None:
        return None
    plan = SupportPlan.objects.filter(code=code).first()
    if plan is None:
        raise ValidationError(_("Unknown support plan."), fields={"plan": "not_found"})
    return plan


def _team_ref(actor: User, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = selectors.team_list(actor=actor).filter(pk=team_id).first()
    if team is None:
        raise ValidationError(_("Unknown team."), fields={"department_id": "not_found"})
    return team


# --- users ------------------------------------------------------------------------------


@users.get("", response=Page[UserOut])
def list_users(
    request: HttpRequest,
    page: Query[PageParams],
    q: str = "",
    role: RoleName | None = None,
    organization_id: int | None = None,
    is_active: bool | None = None,
) -> Any:
    """Search users by e-mail or name (staff)."""
    actor = require_scope(request, "users:read")
    queryset = selectors.user_list(
        actor=actor, q=q, role=role, organization_id=organization_id, is_active=is_active
    )
    return paginate(queryset, page, order_by="id")


@users.get("/me", response=UserOut)
def get_me(request: HttpRequest) -> Any:
    """The authenticated user (needs no scope)."""
    return request.auth  # type: ignore[attr-defined]


@users.get("/{int:user_id}", response=UserOut)
def get_user(request: HttpRequest, user_id: int) -> Any:
    actor = require_scope(request, "users:read")
    return selectors.access_user(actor, user_id)


@users.post("", response={201: UserOut})
def create_user(request: HttpRequest, payload: UserCreateIn) -> Any:
    """Administrators create anyone; agents may create customers."""
    actor = require_scope(request, "users:write")
    data = payload.model_dump()
    organization = _organization_ref(actor, data.pop("organization_id"))
    user = services.user_create(actor=actor, organization=organization, **data)
    return Status(201, user)


@users.patch("/{int:user_id}", response=UserOut)
def update_user(request: HttpRequest, user_id: int, payload: UserUpdateIn) -> Any:
    """Administrators change anyone; users change their own profile (not role, org, active)."""
    actor = require_scope(request, "users:write")
    user = selectors.access_user(actor, user_id)
    changes = payload.changes(nullable={"organization_id"})
    if "organization_id" in changes:
        changes["organization"] = _organization_ref(actor, changes.pop("organization_id"))
    return services.user_update(actor=actor, user=user, **changes)


# --- organizations ----------------------------------------------------------------------


@organizations.get("", response=Page[OrganizationOut])
def list_organizations(request: HttpRequest, page: Query[PageParams], q: str = "") -> Any:
    """All organizations for staff; a customer sees only their own."""
    actor = require_scope(request, "organizations:read")
    return paginate(selectors.organization_list(actor=actor, q=q), page, order_by="name")


@organizations.get("/{int:organization_id}", response=OrganizationOut)
def get_organization(request: HttpRequest, organization_id: int) -> Any:
    actor = require_scope(request, "organizations:read")
    return selectors.access_organization(actor, organization_id)


@organizations.post("", response={201: OrganizationOut})
def create_organization(request: HttpRequest, payload: OrganizationIn) -> Any:
    actor = require_scope(request, "organizations:write")
    data = payload.model_dump()
    organization = services.organization_create(
        actor=actor,
        plan=_plan_ref(data.pop("plan")),
        service_manager=_manager_ref(actor, data.pop("service_manager_id")),
        **data,
    )
    return Status(201, organization)


@organizations.patch("/{int:organization_id}", response=OrganizationOut)
def update_organization(
    request: HttpRequest, organization_id: int, payload: OrganizationUpdateIn
) -> Any:
    actor = require_scope(request, "organizations:write")
    organization = selectors.access_organization(actor, organization_id)
    changes = payload.changes(nullable={"plan", "service_manager_id"})
    if "plan" in changes:
        changes["plan"] = _plan_ref(changes["plan"])
    if "service_manager_id" in changes:
        changes["service_manager"] = _manager_ref(actor, changes.pop("service_manager_id"))
    return services.organization_update(actor=actor, organization=organization, **changes)


# --- teams ------------------------------------------------------------------------------


@teams.get("", response=Page[TeamOut])
def list_teams(request: HttpRequest, page: Query[PageParams]) -> Any:
    actor = require_scope(request, "teams:read")
    return paginate(selectors.team_list(actor=actor), page, order_by="name")


@teams.get("/{int:team_id}", response=TeamOut)
def get_team(request: HttpRequest, team_id: int) -> Any:
    actor = require_scope(request, "teams:read")
    return selectors.access_team(actor, team_id)


@teams.post("", response={201: TeamOut})
def create_team(request: HttpRequest, payload: TeamIn) -> Any:
    actor = require_scope(request, "teams:write")
    data = payload.model_dump()
    team = services.team_create(
        actor=actor, department=_team_ref(actor, data.pop("department_id")), **data
    )
    return Status(201, selectors.access_team(actor, team.pk))


@teams.patch("/{int:team_id}", response=TeamOut)
def update_team(request: HttpRequest, team_id: int, payload: TeamUpdateIn) -> Any:
    actor = require_scope(request, "teams:write")
    team = selectors.access_team(actor, team_id)
    changes = payload.changes(nullable={"level", "department_id"})
    if "department_id" in changes:
        changes["department"] = _team_ref(actor, changes.pop("department_id"))
    services.team_update(actor=actor, team=team, **changes)
    return selectors.access_team(actor, team.pk)


@teams.post("/{int:team_id}/members", response=TeamOut)
def add_team_member(request: HttpRequest, team_id: int, payload: TeamMemberIn) -> Any:
    """Add an agent to the team (or change whether they lead it)."""
    actor = require_scope(request, "teams:write")
    team = selectors.access_team(actor, team_id)
    user = _user_ref(actor, payload.user_id, "user_id")
    services.team_set_member(actor=actor, team=team, user=user, is_lead=payload.is_lead)
    return selectors.access_team(actor, team.pk)


@teams.delete("/{int:team_id}/members/{int:user_id}", response={204: None})
def remove_team_member(request: HttpRequest, team_id: int, user_id: int) -> Any:
    actor = require_scope(request, "teams:write")
    team = selectors.access_team(actor, team_id)
    user = selectors.access_user(actor, user_id)
    services.team_set_member(actor=actor, team=team, user=user, member=False)
    return Status(204, None)
