from __future__ import annotations

from helpline.core.events import DomainEvent


class UserCreated(DomainEvent):
    type = "user.created"
    description = "A user account was created."
    user_id: int
    role: str
    organization_id: int | None


class UserUpdated(DomainEvent):
    type = "user.updated"
    description = "A user's profile, role or organization changed."
    user_id: int
    changes: dict[str, list]


class OrganizationCreated(DomainEvent):
    type = "organization.created"
    description = "A customer organization was created."
    organization_id: int


class OrganizationUpdated(DomainEvent):
    type = "organization.updated"
    description = "An organization's settings changed."
    organization_id: int
    changes: dict[str, list]


class TeamCreated(DomainEvent):
    type = "team.created"
    description = "A team (support line or department) was created."
    team_id: int


class TeamUpdated(DomainEvent):
    type = "team.updated"
    description = "A team's settings changed."
    team_id: int
    changes: dict[str, list]


class TeamMembershipChanged(DomainEvent):
    type = "team.membership_changed"
    description = "An agent joined or left a team."
    team_id: int
    user_id: int
    member: bool
    is_lead: bool
