"""Reads: a user's notification switches, and the e-mails sent for a ticket."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from helpline.accounts.models import User
from helpline.core.errors import PermissionDenied
from helpline.notifications.models import NOTIFICATION_KINDS, NotificationPreference, OutboundEmail
from helpline.tickets.models import Ticket


def preferences_for(user: User) -> dict[str, bool]:
    """Every notification kind with the user's switch (on unless switched off)."""
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "enabled"))
    return {kind: stored.get(kind, True) for kind in NOTIFICATION_KINDS}


def ticket_deliveries(*, actor: User, ticket: Ticket) -> QuerySet[OutboundEmail]:
    """E-mails sent (or being sent) for a ticket the actor sees: agents only."""
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only agents may read e-mail deliveries."))
    return OutboundEmail.objects.filter(ticket=ticket)


def deliveries_by_message(ticket_id: int) -> dict[int, list[OutboundEmail]]:
    """The ticket's e-mails grouped by the ticket message they carry (desk thread)."""
    grouped: dict[int, list[OutboundEmail]] = {}
    rows = OutboundEmail.objects.filter(ticket_id=ticket_id, ticket_message__isnull=False)
    for row in rows.order_by("created_at", "id"):
        grouped.setdefault(row.ticket_message_id or 0, []).append(row)
    return grouped
