"""Routing configuration: how each team hands out work, who can take it now, which skills
agents have, and the rules that send new tickets to a team."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Team
from helpline.tickets.models import Category


class TeamRouting(models.Model):
    class Strategy(models.TextChoices):
        MANUAL = "manual", _("Manual")
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")
        SKILLS = "skills", _("Skills, then least loaded")

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="routing")
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.MANUAL)
    # Round robin: the agent who got the team's last ticket (the next one goes to the next id).
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.team}: {self.strategy}"


class AgentStatus(models.Model):
    """An agent's availability and capacity. No row: available, no capacity limit."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="routing_status"
    )
    available = models.BooleanField(default=True)
    # Most open (unsolved) tickets routing gives this agent; null: no limit.
    max_open = models.PositiveIntegerField(null=True, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {'available' if self.available else 'away'}"


class Skill(models.Model):
    """Something a ticket may need and an agent may have: a category (and its subcategories),
    a language (the requester's), or a product (a ticket tag)."""

    class Kind(models.TextChoices):
        CATEGORY = "category", _("Category")
        LANGUAGE = "language", _("Language")
        PRODUCT = "product", _("Product")

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Language code (kind language) or tag name (kind product).
    value = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="category", category__isnull=False)
                    | (~models.Q(kind="category") & ~models.Q(value=""))
                ),
                name="skill_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AgentSkill(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="routing_skills"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agents")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "skill"], name="agentskill_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.skill_id}"


class RoutingRule(models.Model):
    """Conditions -> team / priority / tags, evaluated in `position` order when a ticket is
    created; the first active rule whose conditions all hold applies. An empty condition
    matches anything."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # conditions
    channels = models.JSONField(default=list, blank=True)
    category_ids = models.JSONField(default=list, blank=True)  # and their subcategories
    organization_ids = models.JSONField(default=list, blank=True)
    plan_ids = models.JSONField(default=list, blank=True)
    priorities = models.JSONField(default=list, blank=True)  # priority keys: "low", "high" ...
    languages = models.JSONField(default=list, blank=True)  # the requester's language
    sender_domains = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)  # any, in the subject or the text
    # actions
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_priority = models.CharField(max_length=10, blank=True)  # a priority key
    add_tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
