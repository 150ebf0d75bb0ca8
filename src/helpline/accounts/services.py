"""Writes for users, organizations and teams."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from helpline.accounts import events
from helpline.accounts.models import Organization, Role, SupportPlan, Team, TeamMembership, User
from helpline.core.errors import Conflict, PermissionDenied, ValidationError
from helpline.core.events import emit, emit_many
from helpline.core.memo import memo


def _require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied("Only administrators may do this.")


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationError(
            "Enter a valid e-mail address.", fields={"email": "invalid"}
        ) from None
    return email


def organization_for_email(email: str) -> Organization | None:
    """The organization that claims the e-mail's domain, if it matches by domain."""
    domain = email.rsplit("@", 1)[-1].lower()
    claiming = memo(
        "accounts.organizations_by_domain",
        lambda: list(Organization.objects.filter(match_by_domain=True).only("pk", "domains")),
    )
    for org in claiming:
        if domain in [d.lower() for d in org.domains]:
            return org
    return None


def user_create(
    *,
    actor: User | None,
    email: str,
    role: str = Role.CUSTOMER,
    password: str | None = None,
    display_name: str = "",
    organization: Organization | None = None,
    phone: str = "",
    language: str = "",
    time_zone: str = "",
    match_organization: bool = True,
) -> User:
    """Create a user. `actor=None` means the system (sign-up, mail intake, CLI)."""
    if actor is not None and role == Role.CUSTOMER and not actor.is_staff_member:
        raise PermissionDenied("Only agents may create customers.")
    if role != Role.CUSTOMER:
        _require_admin(actor)
    if role not in Role.values:
        raise ValidationError("Unknown role.", fields={"role": "invalid"})
    user = _user_build(
        email=email,
        role=role,
        password=password,
        display_name=display_name,
        organization=organization,
        phone=phone,
        language=language,
        time_zone=time_zone,
        match_organization=match_organization,
    )
    with transaction.atomic():
        if User.objects.filter(email__iexact=user.email).exists():
            raise Conflict("A user with this e-mail address exists.", fields={"email": "taken"})
        try:
            user.save()
        except IntegrityError:
            raise Conflict(
                "A user with this e-mail address exists.", fields={"email": "taken"}
            ) from None
        event, aggregate = _created(user)
        emit(event, actor=actor, aggregate=aggregate)
    return user


def _user_build(
    *,
    email: str,
    role: str = Role.CUSTOMER,
    password: str | None = None,
    display_name: str = "",
    organization: Organization | None = None,
    phone: str = "",
    language: str = "",
    time_zone: str = "",
    match_organization: bool = True,
) -> User:
    """An unsaved user of a known role: address and password checked (ValidationError), a
    customer without an organization given matched to one by the address's domain (unless
    `match_organization` is off), administrators Django staff; no password: unusable."""
    email = _clean_email(email)
    if password is not None:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            raise ValidationError(" ".join(exc.messages), fields={"password": "weak"}) from None
    if organization is None and match_organization and role == Role.CUSTOMER:
        organization = organization_for_email(email)
    user = User(
        email=email,
        username=email,
        role=role,
        display_name=display_name.strip(),
        organization=organization,
        phone=phone,
        language=language,
        time_zone=time_zone,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    user.set_password(password)
    return user


def _created(user: User) -> tuple[events.UserCreated, tuple[str, int]]:
    """The `UserCreated` event of a saved user and its aggregate."""
    event = events.UserCreated(
        user_id=user.pk, role=user.role, organization_id=user.organization_id
    )
    return event, ("user", user.pk)


def customer_build(*, email: str, display_name: str = "") -> User:
    """An unsaved customer, as `user_create(actor=None, email=..., display_name=...)` makes
    one (the same `_user_build`): address checked (ValidationError), organization matched
    by the domain, no password. `customers_create_many` saves it; whether the address is
    free is not checked here (the insert refuses a taken one)."""
    return _user_build(email=email, display_name=display_name)


def customers_create_many(*, users: Sequence[User]) -> list[User]:
    """Save customers made by `customer_build` with one INSERT, each with the `UserCreated`
    event `user_create` emits (by the system), in order."""
    users = list(users)
    if not users:
        return users
    with transaction.atomic():
        User.objects.bulk_create(users)
        emit_many([_created(user) for user in users], actor=None)
    return users


USER_EDITABLE = (
    "display_name",
    "phone",
    "language",
    "time_zone",
    "role",
    "organization",
    "is_active",
)


def user_update(*, actor: User, user: User, **changes: Any) -> User:
    """Admins change anyone; a user may change their own profile (not role, org, active)."""
    _check_known(changes, USER_EDITABLE)
    restricted = {"role", "organization", "is_active"} & set(changes)
    if actor.role != Role.ADMIN and (actor.pk != user.pk or restricted):
        raise PermissionDenied("Only administrators may change this.")
    if "role" in changes and changes["role"] not in Role.values:
        raise ValidationError("Unknown role.", fields={"role": "invalid"})
    with transaction.atomic():
        diff = _apply(user, changes)
        if not diff:
            return user
        if "role" in diff:
            user.is_staff = user.is_superuser = user.role == Role.ADMIN
        fields = list(diff) + (["is_staff", "is_superuser"] if "role" in diff else [])
        user.save(update_fields=fields)
        emit(
            events.UserUpdated(user_id=user.pk, changes=diff),
            actor=actor,
            aggregate=("user", user.pk),
        )
    return user


def _check_known(changes: dict[str, Any], editable: Sequence[str]) -> None:
    """ValidationError naming the fields that are not `editable`."""
    unknown = set(changes) - set(editable)
    if unknown:
        raise ValidationError("Unknown fields.", fields={name: "unknown" for name in unknown})


def _apply(instance: Any, changes: dict[str, Any]) -> dict[str, list]:
    """Set the changed fields on `instance` (not saved); {field: [before, after]} of those
    (references as ids)."""
    diff: dict[str, list] = {}
    for name, value in changes.items():
        old = getattr(instance, name)
        if old != value:
            setattr(instance, name, value)
            diff[name] = [_plain(old), _plain(value)]
    return diff


def _plain(value: Any) -> Any:
    return getattr(value, "pk", value)


def support_plan_create(
    *, actor: User | None, code: str, name: str, priority_weight: int = 1
) -> SupportPlan:
    _require_admin(actor)
    with transaction.atomic():
        if SupportPlan.objects.filter(code=code).exists():
            raise Conflict("A plan with this code exists.", fields={"code": "taken"})
        return SupportPlan.objects.create(code=code, name=name, priority_weight=priority_weight)


def organization_create(
    *,
    actor: User | None,
    name: str,
    domains: list[str] | None = None,
    match_by_domain: bool = False,
    members_see_all_tickets: bool = True,
    plan: SupportPlan | None = None,
    service_manager: User | None = None,
    notes: str = "",
) -> Organization:
    _require_admin(actor)
    name = _required_name(name)
    _check_service_manager(service_manager)
    clean_domains = _clean_domains(domains or [])
    with transaction.atomic():
        _check_organization_name_free(name, None)
        org = Organization.objects.create(
            name=name,
            domains=clean_domains,
            match_by_domain=match_by_domain,
            members_see_all_tickets=members_see_all_tickets,
            plan=plan,
            service_manager=service_manager,
            notes=notes,
        )
        emit(
            events.OrganizationCreated(organization_id=org.pk),
            actor=actor,
            aggregate=("organization", org.pk),
        )
    return org


def _required_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Name is required.", fields={"name": "required"})
    return name


def _check_organization_name_free(name: str, organization: Organization | None) -> None:
    """Conflict if an organization other than `organization` has the name (any case)."""
    others = Organization.objects.filter(name__iexact=name)
    if organization is not None:
        others = others.exclude(pk=organization.pk)
    if others.exists():
        raise Conflict("An organization with this name exists.", fields={"name": "taken"})


def _check_service_manager(manager: User | None) -> None:
    if manager is not None and not manager.is_staff_member:
        raise ValidationError(
            "The service manager must be an agent.", fields={"service_manager": "not_agent"}
        )


def _clean_domains(domains: Iterable[str]) -> list[str]:
    """E-mail domains lower-cased, without "@", each once, sorted."""
    return sorted({d.strip().lower().lstrip("@") for d in domains if d.strip()})


ORG_EDITABLE = (
    "name",
    "domains",
    "match_by_domain",
    "members_see_all_tickets",
    "plan",
    "service_manager",
    "notes",
)


def organization_update(*, actor: User, organization: Organization, **changes: Any) -> Organization:
    _require_admin(actor)
    _check_known(changes, ORG_EDITABLE)
    if "name" in changes:
        changes["name"] = _required_name(changes["name"])
    _check_service_manager(changes.get("service_manager"))
    if "domains" in changes:
        changes["domains"] = _clean_domains(changes["domains"])
    with transaction.atomic():
        if "name" in changes:
            _check_organization_name_free(changes["name"], organization)
        diff = _apply(organization, changes)
        if diff:
            organization.save(update_fields=list(diff))
            emit(
                events.OrganizationUpdated(organization_id=organization.pk, changes=diff),
                actor=actor,
                aggregate=("organization", organization.pk),
            )
    return organization


def team_create(
    *,
    actor: User | None,
    name: str,
    kind: str,
    level: int | None = None,
    department: Team | None = None,
    description: str = "",
    is_default: bool = False,
) -> Team:
    _require_admin(actor)
    name = _required_name(name)
    if kind not in Team.Kind.values:
        raise ValidationError("Unknown team kind.", fields={"kind": "invalid"})
    _check_team_shape(kind, level, department)
    with transaction.atomic():
        _check_team_free(
            team=None,
            name=name,
            line=(level, department) if kind == Team.Kind.LINE else None,
        )
        if is_default:
            Team.objects.filter(is_default=True).update(is_default=False)
        team = Team.objects.create(
            name=name,
            kind=kind,
            level=level if kind == Team.Kind.LINE else None,
            department=department,
            description=description,
            is_default=is_default,
        )
        emit(events.TeamCreated(team_id=team.pk), actor=actor, aggregate=("team", team.pk))
    return team


def _check_team_shape(kind: str, level: int | None, department: Team | None) -> None:
    """A support line has a level (and may be in a department); a department has neither."""
    if kind == Team.Kind.LINE and not level:
        raise ValidationError(
            "A support line needs a level (1, 2, 3 ...).", fields={"level": "required"}
        )
    if kind == Team.Kind.DEPARTMENT and (level or department):
        raise ValidationError("Only support lines have a level.", fields={"level": "not_allowed"})
    if department is not None and department.kind != Team.Kind.DEPARTMENT:
        raise ValidationError("Not a department.", fields={"department": "invalid"})


def _check_team_free(
    *, team: Team | None, name: str | None, line: tuple[int | None, Team | None] | None
) -> None:
    """Conflict if a team other than `team` has the name, or a support line other than
    `team` the line's (level, department); None: not checked."""
    others = Team.objects.all() if team is None else Team.objects.exclude(pk=team.pk)
    if name is not None and others.filter(name__iexact=name).exists():
        raise Conflict("A team with this name exists.", fields={"name": "taken"})
    if line is not None:
        level, department = line
        if others.filter(kind=Team.Kind.LINE, level=level, department=department).exists():
            raise Conflict("This line level exists already.", fields={"level": "taken"})


TEAM_EDITABLE = ("name", "description", "is_default", "level", "department")


def team_update(*, actor: User, team: Team, **changes: Any) -> Team:
    """Rename or re-describe a team, make it the default, or move a line (admins)."""
    _require_admin(actor)
    _check_known(changes, TEAM_EDITABLE)
    if "name" in changes:
        changes["name"] = _required_name(changes["name"])
    level = changes.get("level", team.level)
    department = changes.get("department", team.department)
    _check_team_shape(team.kind, level, department)
    moved = team.kind == Team.Kind.LINE and ("level" in changes or "department" in changes)
    with transaction.atomic():
        _check_team_free(
            team=team, name=changes.get("name"), line=(level, department) if moved else None
        )
        diff = _apply(team, changes)
        if not diff:
            return team
        if diff.get("is_default") == [False, True]:
            Team.objects.filter(is_default=True).exclude(pk=team.pk).update(is_default=False)
        team.save(update_fields=list(diff))
        emit(
            events.TeamUpdated(team_id=team.pk, changes=diff),
            actor=actor,
            aggregate=("team", team.pk),
        )
    return team


def team_set_member(
    *, actor: User | None, team: Team, user: User, member: bool = True, is_lead: bool = False
) -> None:
    """Add (or update) or remove an agent's membership of a team."""
    _require_admin(actor)
    if member and not user.is_staff_member:
        raise ValidationError("Only agents can join teams.", fields={"user": "not_agent"})
    with transaction.atomic():
        if member:
            TeamMembership.objects.update_or_create(
                team=team, user=user, defaults={"is_lead": is_lead}
            )
        else:
            TeamMembership.objects.filter(team=team, user=user).delete()
        emit(
            events.TeamMembershipChanged(
                team_id=team.pk, user_id=user.pk, member=member, is_lead=is_lead and member
            ),
            actor=actor,
            aggregate=("team", team.pk),
        )


def next_line(team: Team) -> Team | None:
    """The support line after `team` in the same department (None at the top)."""
    if team.kind != Team.Kind.LINE or team.level is None:
        return None
    return (
        Team.objects.filter(
            kind=Team.Kind.LINE, department_id=team.department_id, level__gt=team.level
        )
        .order_by("level")
        .first()
    )
