from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")


STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})
ALL_TICKETS_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


class HelplineUserManager(UserManager["User"]):
    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        email = self.normalize_email(email).lower()
        extra.setdefault("username", email)
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self.create_user(email, password, **extra)


class SupportPlan(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    priority_weight = models.PositiveSmallIntegerField(
        default=1, help_text="Relative customer weight used by queue ordering."
    )

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    domains = models.JSONField(default=list, blank=True, help_text="E-mail domains of members.")
    match_by_domain = models.BooleanField(
        default=False, help_text="New senders from these domains join this organization."
    )
    members_see_all_tickets = models.BooleanField(
        default=True, help_text="Customers of this organization see each other's tickets."
    )
    plan = models.ForeignKey(SupportPlan, null=True, blank=True, on_delete=models.SET_NULL)
    service_manager = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_organizations",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    email = models.EmailField(_("e-mail address"), unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    display_name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    see_organization_tickets = models.BooleanField(
        default=True,
        help_text="This customer may see the tickets of their organization (if it allows it).",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = HelplineUserManager()  # type: ignore[misc]

    class Meta:
        indexes = [models.Index(fields=["role"])]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.email

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def sees_all_tickets(self) -> bool:
        return self.role in ALL_TICKETS_ROLES


class Team(models.Model):
    class Kind(models.TextChoices):
        LINE = "line", _("Support line")
        DEPARTMENT = "department", _("Department")

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Support lines only: 1, 2, 3 ... escalation order."
    )
    department = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lines",
        limit_choices_to={"kind": "department"},
        help_text="Support lines only: the department this line serves (escalation stays in it).",
    )
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Receives tickets with no team.")
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="line", level__isnull=False) | models.Q(kind="department")
                ),
                name="team_line_has_level",
            ),
        ]
        ordering = ["kind", "level", "name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    is_lead = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="teammembership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"
