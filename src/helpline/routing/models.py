"""Routing configuration: how each team hands out work, and who can take it now."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Team


class TeamRouting(models.Model):
    class Strategy(models.TextChoices):
        MANUAL = "manual", _("Manual")
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")

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
