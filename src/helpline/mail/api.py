"""Inbound mail API: the HTTP way in, and the administrators' mailbox settings.

Routers (registered in helpline/api_urls.py):
- `router`:    POST /mail/inbound/{mailbox} (raw RFC 822 from mail services, below)
- `mailboxes`: GET/POST /mailboxes, GET/PATCH/DELETE /mailboxes/{id},
               POST /mailboxes/{id}/http-secret (admins; scopes mail:read / mail:write)

`POST /api/v1/mail/inbound/{mailbox}`: raw RFC 822 from mail services that post mail.

The body is the message itself (`Content-Type: message/rfc822`), stored byte for byte.
Authentication: an API token with the `mail:write` scope, or the mailbox's own secret in
`X-Mailbox-Secret`. `202` means the raw message is stored (processing follows); sending
the same message again answers `202` with the same id and `duplicate: true`. A message
above the parsing limit (up to `HELPLINE_MAIL_MAX_STORED_BYTES`) is stored too and makes a
ticket message with a notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from helpline.accounts.models import Team
from helpline.api import InSchema
from helpline.core.errors import AuthenticationFailed, NotFound, PayloadTooLarge, ValidationError
from helpline.integrations.auth import TokenAuth, require_scope
from helpline.mail import selectors, services
from helpline.mail.models import Mailbox
from helpline.tickets.models import Category

router = Router(tags=["mail"])
mailboxes = Router(tags=["mail"])


class InboundOut(Schema):
    id: int
    state: str
    message_id: str
    sha256: str
    duplicate: bool


def _mailbox(key: str) -> Mailbox:
    rows = Mailbox.objects.filter(is_active=True)
    mailbox = (
        rows.filter(pk=int(key)).first()
        if key.isdigit()
        else rows.filter(address__iexact=key).first()
    )
    if mailbox is None:
        raise NotFound(_("No such mailbox."))
    return mailbox


def _authorize(request: HttpRequest, mailbox: Mailbox) -> None:
    secret = request.headers.get("X-Mailbox-Secret", "")
    if secret:
        if not services.mailbox_secret_matches(mailbox, secret):
            raise AuthenticationFailed(_("Wrong mailbox secret."))
        return
    user = TokenAuth()(request)
    if user is None:
        raise AuthenticationFailed(_("Send an API token or the mailbox secret."))
    request.auth = user  # type: ignore[attr-defined]
    require_scope(request, "mail:write")


@router.post("/inbound/{mailbox}", response={202: InboundOut}, auth=None)
def post_inbound(request: HttpRequest, mailbox: str) -> Any:
    """Store one raw message (the request body) for the mailbox (its id or address)."""
    target = _mailbox(mailbox)
    _authorize(request, target)
    limit = services.max_stored_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    too_large = PayloadTooLarge(_("The message is larger than %(limit)d bytes.") % {"limit": limit})
    if declared > limit:
        raise too_large
    raw = request.body
    if len(raw) > limit:
        raise too_large
    if not raw.strip():
        raise ValidationError(
            _("The request body must be the raw message."), fields={"body": "empty"}
        )
    row, created = services.receive(mailbox=target, raw_bytes=raw, source="http")
    row.refresh_from_db(fields=["state"])
    return Status(
        202,
        {
            "id": row.pk,
            "state": row.state,
            "message_id": row.message_id,
            "sha256": row.sha256,
            "duplicate": not created,
        },
    )


# --- mailboxes (admins) --------------------------------------------------------------------

Way = Literal["imap", "intake", "http"]
ImapSecurity = Literal["ssl", "starttls", "none"]
ImapAuth = Literal["password", "xoauth2"]
ProcessedAction = Literal["mark_seen", "move", "delete"]


class MessageCountsOut(Schema):
    received: int
    processed: int
    rejected: int
    failed: int


class MailboxOut(Schema):
    id: int
    address: str
    name: str
    team_id: int | None
    category_id: int | None
    is_active: bool
    way: Way
    imap_host: str
    imap_port: int
    imap_security: ImapSecurity
    imap_username: str
    imap_auth: ImapAuth
    imap_folder: str
    processed_action: ProcessedAction
    processed_folder: str
    follow_up_on_closed: bool
    cc_as_watchers: bool
    has_imap_secret: bool = Field(
        description="An IMAP password or OAuth2 token is stored (it is never returned)."
    )
    has_http_secret: bool = Field(description="The HTTP endpoint accepts a mailbox secret.")
    last_polled_at: datetime | None
    last_error: str
    created_at: datetime
    messages: MessageCountsOut = Field(description="Stored inbound messages by state.")

    @staticmethod
    def resolve_has_imap_secret(obj: Mailbox) -> bool:
        return bool(obj.imap_secret_encrypted)

    @staticmethod
    def resolve_has_http_secret(obj: Mailbox) -> bool:
        return bool(obj.http_secret_digest)

    @staticmethod
    def resolve_messages(obj: Mailbox) -> dict[str, int]:
        return {state: getattr(obj, f"count_{state}", 0) for state in selectors.COUNTED_STATES}


class MailboxIn(InSchema):
    address: str = Field(max_length=254)
    name: str = Field("", max_length=100)
    team_id: int | None = None
    category_id: int | None = None
    is_active: bool = True
    way: Way = "intake"
    imap_host: str = Field("", max_length=255)
    imap_port: int = Field(993, ge=1, le=65535)
    imap_security: ImapSecurity = "ssl"
    imap_username: str = Field("", max_length=255)
    imap_auth: ImapAuth = "password"
    imap_secret: str = Field(
        "", max_length=8192, description="Write-only: the IMAP password or OAuth2 token."
    )
    imap_folder: str = Field("INBOX", min_length=1, max_length=255)
    processed_action: ProcessedAction = "mark_seen"
    processed_folder: str = Field("", max_length=255)
    follow_up_on_closed: bool = True
    cc_as_watchers: bool = True


class MailboxPatchIn(InSchema):
    address: str | None = Field(None, max_length=254)
    name: str | None = Field(None, max_length=100)
    team_id: int | None = None
    category_id: int | None = None
    is_active: bool | None = None
    way: Way | None = None
    imap_host: str | None = Field(None, max_length=255)
    imap_port: int | None = Field(None, ge=1, le=65535)
    imap_security: ImapSecurity | None = None
    imap_username: str | None = Field(None, max_length=255)
    imap_auth: ImapAuth | None = None
    imap_secret: str | None = Field(
        None, max_length=8192, description='Write-only; "" clears the stored one.'
    )
    imap_folder: str | None = Field(None, min_length=1, max_length=255)
    processed_action: ProcessedAction | None = None
    processed_folder: str | None = Field(None, max_length=255)
    follow_up_on_closed: bool | None = None
    cc_as_watchers: bool | None = None


class HttpSecretOut(Schema):
    secret: str = Field(description="Send it as `X-Mailbox-Secret`; it is shown only once.")


def _admin(request: HttpRequest, scope: str) -> Any:
    actor = require_scope(request, scope)
    services.require_admin(actor)
    return actor


def _counted(mailbox_id: int) -> Mailbox:
    mailbox = selectors.mailboxes_with_counts().filter(pk=mailbox_id).first()
    if mailbox is None:
        raise NotFound(_("Mailbox not found."))
    return mailbox


def _references(data: dict[str, Any]) -> dict[str, Any]:
    for key, model, name in (("team_id", Team, "team"), ("category_id", Category, "category")):
        if key not in data:
            continue
        value = data.pop(key)
        row = model.objects.filter(pk=value).first() if value is not None else None
        if value is not None and row is None:
            raise ValidationError(_("Unknown reference."), fields={key: "not_found"})
        data[name] = row
    return data


@mailboxes.get("", response=list[MailboxOut])
def list_mailboxes(request: HttpRequest) -> Any:
    """Every mailbox with its way in, last poll and error, and message counts by state
    (secrets are never returned)."""
    _admin(request, "mail:read")
    return list(selectors.mailboxes_with_counts())


@mailboxes.post("", response={201: MailboxOut})
def create_mailbox(request: HttpRequest, payload: MailboxIn) -> Any:
    """Add a mailbox; `imap_secret` is stored encrypted."""
    actor = _admin(request, "mail:write")
    data = _references(payload.model_dump())
    secret = data.pop("imap_secret")
    mailbox = services.mailbox_create(actor=actor, imap_secret=secret, **data)
    return Status(201, _counted(mailbox.pk))


@mailboxes.get("/{int:mailbox_id}", response=MailboxOut)
def get_mailbox(request: HttpRequest, mailbox_id: int) -> Any:
    _admin(request, "mail:read")
    return _counted(mailbox_id)


@mailboxes.patch("/{int:mailbox_id}", response=MailboxOut)
def update_mailbox(request: HttpRequest, mailbox_id: int, payload: MailboxPatchIn) -> Any:
    """Change a mailbox; fields left out stay as they are, `team_id`/`category_id` may be
    null, `imap_secret` "" clears the stored secret."""
    actor = _admin(request, "mail:write")
    mailbox = _counted(mailbox_id)
    data = _references(payload.changes(nullable={"team_id", "category_id"}))
    secret = data.pop("imap_secret", None)
    services.mailbox_update(actor=actor, mailbox=mailbox, imap_secret=secret, **data)
    return _counted(mailbox_id)


@mailboxes.delete("/{int:mailbox_id}", response={200: MailboxOut, 204: None})
def delete_mailbox(request: HttpRequest, mailbox_id: int) -> Any:
    """Delete a mailbox that never received mail (204). One with stored mail is
    deactivated instead (200, `is_active` false): its raw messages are kept."""
    actor = _admin(request, "mail:write")
    if services.mailbox_delete(actor=actor, mailbox=_counted(mailbox_id)):
        return Status(204, None)
    return _counted(mailbox_id)


@mailboxes.post("/{int:mailbox_id}/http-secret", response={201: HttpSecretOut})
def rotate_http_secret(request: HttpRequest, response: HttpResponse, mailbox_id: int) -> Any:
    """Make a new secret for the mailbox's HTTP endpoint: shown in this answer only; the old
    secret stops working."""
    actor = _admin(request, "mail:write")
    secret = services.mailbox_rotate_http_secret(actor=actor, mailbox=_counted(mailbox_id))
    response["Cache-Control"] = "no-store"
    return Status(201, {"secret": secret})
