"""`POST /api/v1/mail/inbound/{mailbox}`: raw RFC 822 from mail services that post mail.

The body is the message itself (`Content-Type: message/rfc822`), stored byte for byte.
Authentication: an API token with the `mail:write` scope, or the mailbox's own secret in
`X-Mailbox-Secret`. `202` means the raw message is stored (processing follows); sending
the same message again answers `202` with the same id and `duplicate: true`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from helpline.core.errors import AuthenticationFailed, NotFound, PayloadTooLarge, ValidationError
from helpline.integrations.auth import TokenAuth, require_scope
from helpline.mail import services
from helpline.mail.models import Mailbox

router = Router(tags=["mail"])


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
    limit = services.max_message_bytes()
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
