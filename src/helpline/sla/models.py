"""SLA data: business calendars, policies (SLA and OLA), and the timers running on tickets."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Organization, SupportPlan, Team
from helpline.sla.businesstime import BusinessCalendar
from helpline.tickets.models import Category, Channel, Ticket


class Calendar(models.Model):
    """Working hours of a desk in one time zone. The definition is validated by
    `helpline.sla.businesstime.BusinessCalendar` (see docs/sla.md for the format)."""

    name = models.CharField(max_length=100, unique=True)
    tz = models.CharField(max_length=64, default="UTC")
    is_default = models.BooleanField(default=False)
    hours = models.JSONField(default=dict, help_text='{"mon": [["09:00", "17:00"]], ...}')
    holidays = models.JSONField(default=list, blank=True)
    exceptions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="sla_calendar_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            tz=self.tz, hours=self.hours, holidays=self.holidays, exceptions=self.exceptions
        )


class CalendarAssignment(models.Model):
    """Which calendar a team, an organization or a support plan works by (one of the three)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="assignments")
    team = models.OneToOneField(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.OneToOneField(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    plan = models.OneToOneField(
        SupportPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(team__isnull=False, organization__isnull=True, plan__isnull=True)
                    | models.Q(team__isnull=True, organization__isnull=False, plan__isnull=True)
                    | models.Q(team__isnull=True, organization__isnull=True, plan__isnull=False)
                ),
                name="sla_calendarassignment_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.calendar} for {self.team or self.organization or self.plan}"


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")
    HANDOFF_RESPONSE = "handoff_response", _("Hand-off response (OLA)")


class BreachAction(models.TextChoices):
    NOTIFY_ASSIGNEE = "notify_assignee", _("Notify the assignee")
    NOTIFY_TEAM_LEAD = "notify_team_lead", _("Notify the team lead")
    NOTIFY_SERVICE_MANAGER = "notify_service_manager", _("Notify the service manager")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority")
    ESCALATE = "escalate", _("Escalate to the next line")


class SlaPolicy(models.Model):
    """Targets for tickets that match every condition set on the policy.

    Policies are tried in `position` order; the first active match wins (one SLA policy and,
    for hand-offs, one OLA policy per ticket). An empty condition matches anything.
    """

    class Kind(models.TextChoices):
        SLA = "sla", _("SLA (customer-facing)")
        OLA = "ola", _("OLA (internal hand-off)")

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=3, choices=Kind.choices, default=Kind.SLA)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # conditions
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    plan = models.ForeignKey(
        SupportPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    priorities = models.JSONField(default=list, blank=True, help_text='e.g. ["high", "urgent"]')
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # targets, in minutes (null: no target); each in business or calendar time
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_response_business = models.BooleanField(default=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_business = models.BooleanField(default=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_business = models.BooleanField(default=True)
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    warning_percent = models.PositiveSmallIntegerField(default=75)
    breach_actions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def target(self, metric: str) -> tuple[int | None, bool]:
        """(minutes or None, business time?) for a metric; OLA policies use first response."""
        if metric == Metric.HANDOFF_RESPONSE:
            metric = Metric.FIRST_RESPONSE
        return getattr(self, f"{metric}_minutes"), getattr(self, f"{metric}_business")


class SlaTimer(models.Model):
    """One clock on one ticket. `elapsed_seconds` counts (business) time up to
    `running_since`; while running, `due_at`/`warn_at` are the absolute deadlines."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        MET = "met", _("Met")
        CANCELLED = "cancelled", _("Cancelled")

    # Few indexes on purpose: a recompute rewrites due_at/warn_at of every running timer, and
    # each index is one more write per row. (ticket, state) serves lookups by ticket.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="sla_timers", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Metric.choices)
    policy = models.ForeignKey(
        SlaPolicy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="timers",
        db_index=False,
    )
    calendar = models.ForeignKey(
        Calendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # OLA: the team measured
    business = models.BooleanField(default=True)
    target_seconds = models.PositiveIntegerField()
    warning_percent = models.PositiveSmallIntegerField(default=75)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.FloatField(default=0)
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(
                fields=["warn_at"],
                name="sla_timer_warn_pending",
                condition=models.Q(state="running", warned_at__isnull=True),
            ),
            models.Index(
                fields=["due_at"],
                name="sla_timer_due_pending",
                condition=models.Q(state="running", breached_at__isnull=True),
            ),
            models.Index(fields=["ticket", "state"], name="sla_timer_ticket_state"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id} ({self.state})"
