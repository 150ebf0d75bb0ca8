from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it describes."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=100, db_index=True)
    version = models.PositiveSmallIntegerField()
    payload = models.JSONField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    aggregate_type = models.CharField(max_length=50)
    aggregate_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["aggregate_type", "aggregate_id", "created_at"]),
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_type}:{self.aggregate_id}"


class ReceiverRun(models.Model):
    """One receiver's handling of one event: makes dispatch idempotent per receiver."""

    class State(models.TextChoices):
        DONE = "done"
        FAILED = "failed"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="runs")
    receiver = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "receiver"], name="receiverrun_event_receiver")
        ]

    def __str__(self) -> str:
        return f"{self.receiver} {self.state}"
