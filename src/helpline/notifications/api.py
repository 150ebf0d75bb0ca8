"""REST endpoints: a ticket's e-mail deliveries, my notification switches, sender identities.

Routers (registered in helpline/api_urls.py):
- `tickets`:    GET /tickets/{id}/deliveries, POST /tickets/{id}/deliveries/{id}/retry
                (agents; same 404 as the ticket itself)
- `me`:         GET/PUT /me/notifications
- `identities`: GET/POST /sender-identities, GET/PATCH /sender-identities/{id} (admins)
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from helpline.accounts.models import Team
from helpline.api import require_scope
from helpline.core.errors import NotFound, ValidationError
from helpline.notifications import selectors, services
from helpline.notifications.models import SenderIdentity
from helpline.notifications.schemas import (
    DeliveryOut,
    NotificationsIn,
    NotificationsOut,
    SenderIdentityIn,
    SenderIdentityOut,
    SenderIdentityPatchIn,
)
from helpline.tickets.access import access_ticket

tickets = Router(tags=["tickets"])
me = Router(tags=["notifications"])
identities = Router(tags=["notifications"])


@tickets.get("/{int:ticket_id}/deliveries", response=list[DeliveryOut])
def list_deliveries(request: HttpRequest, ticket_id: int) -> Any:
    """E-mails sent for the ticket, oldest first: sent, retrying (with the server's last
    answer and the next attempt) or failed (agents only)."""
    actor = require_scope(request, "tickets:read")
    ticket = access_ticket(actor, ticket_id)
    return list(selectors.ticket_deliveries(actor=actor, ticket=ticket).order_by("id"))


@tickets.post("/{int:ticket_id}/deliveries/{int:delivery_id}/retry", response=DeliveryOut)
def retry_delivery(request: HttpRequest, ticket_id: int, delivery_id: int) -> Any:
    """Send a failed or retrying e-mail again now (agents only); the answer shows the state
    after the attempt was queued."""
    actor = require_scope(request, "tickets:write")
    ticket = access_ticket(actor, ticket_id)
    row = selectors.ticket_deliveries(actor=actor, ticket=ticket).filter(pk=delivery_id).first()
    if row is None:
        raise NotFound(_("Delivery not found."))
    return services.delivery_retry(actor=actor, outbound=row)


@me.get("/notifications", response=NotificationsOut)
def get_notifications(request: HttpRequest) -> Any:
    """Which e-mail notifications I receive."""
    actor = require_scope(request, "users:read")
    return selectors.preferences_for(actor)


@me.put("/notifications", response=NotificationsOut)
def put_notifications(request: HttpRequest, payload: NotificationsIn) -> Any:
    """Switch my e-mail notifications on or off."""
    actor = require_scope(request, "users:write")
    return services.preference_set(actor=actor, changes=payload.changes())


def _identity(identity_id: int) -> SenderIdentity:
    identity = SenderIdentity.objects.filter(pk=identity_id).first()
    if identity is None:
        raise NotFound(_("Sender identity not found."))
    return identity


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    if "team_id" in data:
        team_id = data.pop("team_id")
        team = Team.objects.filter(pk=team_id).first() if team_id is not None else None
        if team_id is not None and team is None:
            raise ValidationError(_("Unknown team."), fields={"team_id": "not_found"})
        data["team"] = team
    return data


@identities.get("", response=list[SenderIdentityOut])
def list_identities(request: HttpRequest) -> Any:
    """Sender addresses and their SMTP accounts (passwords are never returned)."""
    actor = require_scope(request, "mail:read")
    services.require_admin(actor)
    return list(SenderIdentity.objects.order_by("name", "id"))


@identities.post("", response={201: SenderIdentityOut})
def create_identity(request: HttpRequest, payload: SenderIdentityIn) -> Any:
    actor = require_scope(request, "mail:write")
    data = _fields(payload.model_dump())
    password = data.pop("password")
    return Status(
        201, services.sender_identity_save(actor=actor, password=password or None, **data)
    )


@identities.get("/{int:identity_id}", response=SenderIdentityOut)
def get_identity(request: HttpRequest, identity_id: int) -> Any:
    actor = require_scope(request, "mail:read")
    services.require_admin(actor)
    return _identity(identity_id)


@identities.patch("/{int:identity_id}", response=SenderIdentityOut)
def update_identity(request: HttpRequest, identity_id: int, payload: SenderIdentityPatchIn) -> Any:
    actor = require_scope(request, "mail:write")
    services.require_admin(actor)
    data = _fields(payload.changes(nullable={"team_id"}))
    password = data.pop("password", None)
    return services.sender_identity_save(
        actor=actor, identity=_identity(identity_id), password=password, **data
    )
