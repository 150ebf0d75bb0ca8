"""Reads for users, organizations and teams, scoped to the viewer.

Staff see everyone. A customer sees themselves and the members of their organization,
and only their own organization; anything else is "not found". Teams are staff-only.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from helpline.accounts.models import Organization, Role, Team, TeamMembership, User
from helpline.core.errors import NotFound, PermissionDenied


def visible_users(actor: User) -> QuerySet[User]:
    queryset = User.objects.select_related("organization")
    if actor.is_staff_member:
        return queryset
    condition = Q(pk=actor.pk)
    if actor.organization_id is not None:
        condition |= Q(organization_id=actor.organization_id, role=Role.CUSTOMER)
    return queryset.filter(condition)


def user_list(
    *,
    actor: User,
    q: str = "",
    role: str | None = None,
    organization_id: int | None = None,
    is_active: bool | None = None,
) -> QuerySet[User]:
    """Search users by e-mail or name (staff only)."""
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only agents may list users."))
    queryset = visible_users(actor)
    q = q.strip()
    if q:
        queryset = queryset.filter(
            Q(email__icontains=q)
            | Q(display_name__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )
    if role:
        queryset = queryset.filter(role=role)
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset


def access_user(actor: User, user_id: int) -> User:
    user = visible_users(actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("User not found."))
    return user


def visible_organizations(actor: User) -> QuerySet[Organization]:
    queryset = Organization.objects.select_related("plan")
    if actor.is_staff_member:
        return queryset
    if actor.organization_id is None:
        return queryset.none()
    return queryset.filter(pk=actor.organization_id)


def organization_list(*, actor: User, q: str = "") -> QuerySet[Organization]:
    queryset = visible_organizations(actor)
    if q.strip():
        queryset = queryset.filter(name__icontains=q.strip())
    return queryset


def access_organization(actor: User, organization_id: int) -> Organization:
    organization = visible_organizations(actor).filter(pk=organization_id).first()
    if organization is None:
        raise NotFound(_("Organization not found."))
    return organization


def _teams(actor: User) -> QuerySet[Team]:
    if not actor.is_staff_member:
        raise NotFound(_("Team not found."))
    memberships = TeamMembership.objects.select_related("user").order_by("user__email")
    return Team.objects.prefetch_related(Prefetch("teammembership_set", queryset=memberships))


def team_list(*, actor: User) -> QuerySet[Team]:
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only agents may list teams."))
    return _teams(actor)


def access_team(actor: User, team_id: int) -> Team:
    team = _teams(actor).filter(pk=team_id).first()
    if team is None:
        raise NotFound(_("Team not found."))
    return team
