"""Inbound e-mail: mailboxes, every received message stored raw, and sender standing."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Team
from helpline.tickets.models import Category, Message, Ticket


class Mailbox(models.Model):
    """An address customers write to, and how its mail reaches us."""

    class Way(models.TextChoices):
        IMAP = "imap", _("IMAP polling")
        INTAKE = "intake", _("SMTP/LMTP intake server")
        HTTP = "http", _("HTTP endpoint")

    class Security(models.TextChoices):
        SSL = "ssl", _("SSL/TLS")
        STARTTLS = "starttls", _("STARTTLS")
        NONE = "none", _("None (loopback only)")

    class Auth(models.TextChoices):
        PASSWORD = "password", _("Password (LOGIN)")
        XOAUTH2 = "xoauth2", _("OAuth2 (XOAUTH2)")

    class Processed(models.TextChoices):
        MARK_SEEN = "mark_seen", _("Mark as seen")
        MOVE = "move", _("Move to a folder")
        DELETE = "delete", _("Delete")

    address = models.EmailField(unique=True)
    name = models.CharField(max_length=100, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="mailboxes"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="mailboxes"
    )
    is_active = models.BooleanField(default=True)
    way = models.CharField(max_length=10, choices=Way.choices, default=Way.INTAKE)
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_auth = models.CharField(max_length=10, choices=Auth.choices, default=Auth.PASSWORD)
    # The password or OAuth2 access token, encrypted with a key derived from SECRET_KEY
    # (see helpline.mail.secrets); never shown by the API and never logged.
    imap_secret_encrypted = models.TextField(blank=True)
    imap_folder = models.CharField(max_length=255, default="INBOX")
    processed_action = models.CharField(
        max_length=10, choices=Processed.choices, default=Processed.MARK_SEEN
    )
    processed_folder = models.CharField(max_length=255, blank=True)
    imap_uid_validity = models.BigIntegerField(null=True, blank=True)
    imap_last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # SHA-256 of the per-mailbox secret of the HTTP endpoint (empty: tokens only).
    http_secret_digest = models.CharField(max_length=64, blank=True)
    follow_up_on_closed = models.BooleanField(
        default=True, help_text=_("A reply to a closed ticket opens a linked follow-up ticket.")
    )
    cc_as_watchers = models.BooleanField(
        default=True, help_text=_("People in Cc of a new request become its watchers.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class InboundEmail(models.Model):
    """One received message: its exact bytes first, then what became of it."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        AUTO_REPLY = "auto_reply", _("Auto-reply")
        BOUNCE = "bounce", _("Bounce")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="inbound")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    message_id = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.MESSAGE)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    rejection_reason = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # What processing noted: inline images (cid -> sha256), attachments kept raw only.
    extra = models.JSONField(default=dict, blank=True)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_emails"
    )
    ticket_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_emails"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "message_id"],
                condition=~models.Q(message_id=""),
                name="inbound_unique_message_id",
            ),
            models.UniqueConstraint(fields=["mailbox", "sha256"], name="inbound_unique_sha256"),
        ]
        indexes = [
            models.Index(fields=["message_id"], name="inbound_message_id"),
            models.Index(fields=["state", "updated_at"], name="inbound_state"),
            models.Index(fields=["sender", "received_at"], name="inbound_sender"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.message_id or self.sha256[:12]} ({self.state})"

    @property
    def raw(self) -> bytes:
        """The exact bytes received (one query; a batch reads its rows' bytes together with
        `helpline.core.blobs.read`)."""
        return bytes(self.raw_message.data)


class InboundRaw(models.Model):
    """The exact bytes of a received message, apart from its row: the row changes as the
    message is processed, the bytes never do (SQLite rewrites a whole row, large values
    included, on every update)."""

    inbound = models.OneToOneField(
        InboundEmail, primary_key=True, on_delete=models.CASCADE, related_name="raw_message"
    )
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"raw of {self.inbound_id}"


class SenderStatus(models.Model):
    """What we know about an address we deliver to: bounces mark it failing."""

    address = models.CharField(max_length=254, unique=True)
    failing = models.BooleanField(default=False)
    bounce_count = models.PositiveIntegerField(default=0)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    last_bounce_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.address
