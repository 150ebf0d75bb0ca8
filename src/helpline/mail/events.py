"""Domain events of the mail app: mailbox configuration changes (the admin audit trail)."""

from __future__ import annotations

from helpline.core.events import DomainEvent


class MailboxCreated(DomainEvent):
    type = "mailbox.created"
    description = "An administrator added a mailbox (an address customers write to)."
    mailbox_id: int
    address: str


class MailboxUpdated(DomainEvent):
    type = "mailbox.updated"
    description = (
        "A mailbox's settings changed; `changes` maps each field to [old, new] (a changed "
        "IMAP password or token shows as `imap_secret` without its value)."
    )
    mailbox_id: int
    changes: dict[str, list]


class MailboxDeleted(DomainEvent):
    type = "mailbox.deleted"
    description = "A mailbox that never received mail was deleted."
    mailbox_id: int
    address: str


class MailboxHttpSecretRotated(DomainEvent):
    type = "mailbox.http_secret_rotated"
    description = "A new secret was made for a mailbox's HTTP endpoint (the old one stops working)."
    mailbox_id: int
