"""Who receives the e-mails of a ticket."""

from __future__ import annotations

from helpline.accounts.models import STAFF_ROLES, User
from helpline.tickets.models import Ticket


def customers(ticket: Ticket) -> list[User]:
    """The requester, then customers watching the ticket (people who were in Cc)."""
    people = [ticket.requester] if not ticket.requester.is_staff_member else []
    watchers = ticket.watchers.exclude(role__in=STAFF_ROLES).exclude(pk=ticket.requester_id)
    return people + list(watchers.order_by("pk"))


def agents(ticket: Ticket) -> list[User]:
    """The assignee, then agents watching the ticket."""
    people = [ticket.assignee] if ticket.assignee is not None else []
    watchers = ticket.watchers.filter(role__in=STAFF_ROLES).exclude(pk=ticket.assignee_id or 0)
    return people + list(watchers.order_by("pk"))
