"""Outbound e-mail: sender identities (SMTP accounts), every sent message, preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Team
from helpline.tickets.models import Message, Ticket


class Kind(models.TextChoices):
    """What an outbound e-mail is: an agent's reply, or one of the notifications."""

    REPLY = "reply", _("Agent reply")
    TICKET_RECEIVED = "ticket_received", _("Ticket received (to the customer)")
    SOLVED = "solved", _("Ticket solved (to the customer)")
    ASSIGNED = "assigned", _("Ticket assigned (to the agent)")
    CUSTOMER_REPLIED = "customer_replied", _("Customer replied (to the agent)")


# Every kind can be switched off per sender identity and per user (a customer who follows
# the ticket on the portal may not want agent replies by e-mail).
NOTIFICATION_KINDS: tuple[str, ...] = tuple(Kind.values)


class SenderIdentity(models.Model):
    """An address we send from, with its SMTP account. A ticket's identity is the one whose
    address is the mailbox the ticket's first e-mail came through (we answer from the
    address the customer wrote to); otherwise its team's; otherwise the default identity;
    otherwise DEFAULT_FROM_EMAIL over EMAIL_BACKEND.

    With an empty `host` the identity only sets the sender address and mail goes out through
    the configured EMAIL_BACKEND."""

    class Security(models.TextChoices):
        NONE = "none", _("None (plain SMTP)")
        STARTTLS = "starttls", _("STARTTLS")
        SSL = "ssl", _("SSL/TLS")

    name = models.CharField(max_length=100)
    address = models.EmailField(unique=True)
    display_name = models.CharField(max_length=100, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="sender_identities"
    )
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=587)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    username = models.CharField(max_length=255, blank=True)
    # Encrypted with a key derived from SECRET_KEY (helpline.notifications.secrets);
    # never returned by the API, never logged.
    password_encrypted = models.TextField(blank=True)
    timeout = models.PositiveSmallIntegerField(default=30)
    notify_ticket_received = models.BooleanField(default=True)
    notify_reply = models.BooleanField(default=True)
    notify_solved = models.BooleanField(default=True)
    notify_assigned = models.BooleanField(default=True)
    notify_customer_replied = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="senderidentity_one_default",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=models.Q(team__isnull=False),
                name="senderidentity_one_per_team",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.address

    def sends(self, kind: str) -> bool:
        """Whether this identity sends e-mails of `kind` (switch per mailbox)."""
        return bool(getattr(self, f"notify_{kind}", True))


class OutboundEmail(models.Model):
    """One e-mail we send, from queued to sent or failed, with the server's last answer."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Retrying")
        FAILED = "failed", _("Failed")

    # The Message-ID header value without angle brackets.
    message_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    ticket_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    identity = models.ForeignKey(
        SenderIdentity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_address = models.CharField(max_length=300)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # Idempotency: one e-mail per (event, kind, recipient); a replayed event adds none.
    dedupe_key = models.CharField(max_length=150, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due"),
            models.Index(fields=["ticket", "created_at"], name="outbound_ticket"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"<{self.message_id}> ({self.status})"


class NotificationPreference(models.Model):
    """A user's switch for one notification kind. No row means on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notificationpref_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}={self.enabled}"
