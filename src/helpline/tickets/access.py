"""Access checks for tickets: one NotFound for "missing" and "not yours"."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from helpline.accounts.models import Role, User
from helpline.core.errors import NotFound, PermissionDenied
from helpline.tickets.models import Ticket


def ticket_visibility(user: User) -> Q | None:
    """The filter of tickets `user` may see; None means all tickets."""
    if user.role in (Role.ADMIN, Role.SUPERVISOR):
        return None
    if user.role == Role.AGENT:
        return Q(team__in=user.teams.values("pk")) | Q(assignee=user)
    condition = Q(requester=user)
    org = user.organization
    if org is not None and org.members_see_all_tickets and user.see_organization_tickets:
        condition |= Q(organization=org)
    return condition


def visible_tickets(user: Any) -> QuerySet[Ticket]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Ticket.objects.none()
    condition = ticket_visibility(user)
    queryset = Ticket.objects.all()
    return queryset if condition is None else queryset.filter(condition)


def access_ticket(user: Any, ticket_id: Any, *, lock: bool = False) -> Ticket:
    """Return the ticket if `user` may see it; NotFound otherwise (same for missing)."""
    try:
        ticket_pk = int(ticket_id)
    except (TypeError, ValueError):
        raise NotFound("Ticket not found.") from None
    queryset = visible_tickets(user).filter(pk=ticket_pk)
    if lock:
        queryset = queryset.select_for_update()
    ticket = queryset.first()
    if ticket is None:
        raise NotFound("Ticket not found.")
    return ticket


def require_staff(user: User) -> None:
    if not user.is_staff_member:
        raise PermissionDenied("Only agents may do this.")


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise PermissionDenied("Your role may not do this.")
