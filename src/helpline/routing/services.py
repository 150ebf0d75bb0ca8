"""Routing: configure a team's strategy, set agents available or away, assign automatically.

Automatic assignments go through `tickets.services.ticket_route_assign`, so each one is
audited (with its reason) and emits `ticket.assigned` like a manual assignment.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, Team, TeamMembership, User
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.routing import decide
from helpline.routing.models import AgentStatus, TeamRouting
from helpline.tickets.models import Status, Ticket

DONE = (Status.SOLVED, Status.CLOSED)
REOFFER_BATCH = 200


def team_routing_set(*, actor: User, team: Team, strategy: str) -> TeamRouting:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators may configure routing."))
    if strategy not in TeamRouting.Strategy.values:
        raise ValidationError(_("Unknown strategy."), fields={"strategy": "invalid"})
    routing, _created = TeamRouting.objects.update_or_create(
        team=team, defaults={"strategy": strategy}
    )
    return routing


def _check_agent(actor: User, user: User) -> None:
    if not user.is_staff_member:
        raise ValidationError(_("Only agents have an availability."), fields={"user": "not_agent"})
    if actor.pk != user.pk and not actor.sees_all_tickets:
        raise PermissionDenied(_("You may set only your own availability."))


def agent_set_capacity(*, actor: User, user: User, max_open: int | None) -> AgentStatus:
    """The most open tickets routing gives the agent (None: no limit); supervisors, admins."""
    _check_agent(actor, user)
    if not actor.sees_all_tickets:
        raise PermissionDenied(_("Only supervisors and administrators set capacity."))
    if max_open is not None and max_open < 1:
        raise ValidationError(_("Capacity must be at least 1."), fields={"max_open": "invalid"})
    status, _created = AgentStatus.objects.update_or_create(
        user=user, defaults={"max_open": max_open}
    )
    return status


def agent_set_availability(*, actor: User, user: User, available: bool) -> AgentStatus:
    """Agents set themselves available or away; supervisors and admins anyone. Becoming
    available re-offers the unassigned work of the agent's teams (after commit)."""
    _check_agent(actor, user)
    with transaction.atomic():
        status, _created = AgentStatus.objects.select_for_update().get_or_create(user=user)
        was_available = status.available
        status.available = available
        status.save(update_fields=["available", "changed_at"])
        if available and not was_available:
            from helpline.core.tasks import enqueue
            from helpline.routing.tasks import reoffer_for_agent

            transaction.on_commit(lambda: enqueue(reoffer_for_agent, user.pk))
    return status


def candidates(team_id: int) -> list[decide.Candidate]:
    """The team's active agents with availability, capacity and open tickets: three queries."""
    members = list(
        TeamMembership.objects.filter(
            team_id=team_id, user__is_active=True, user__role__in=(Role.AGENT, Role.SUPERVISOR)
        ).values_list("user_id", flat=True)
    )
    statuses = {row.user_id: row for row in AgentStatus.objects.filter(user_id__in=members)}
    load = dict(
        Ticket.objects.filter(assignee_id__in=members)
        .exclude(status__in=DONE)
        .values("assignee_id")
        .annotate(count=Count("id"))
        .values_list("assignee_id", "count")
    )
    return [
        decide.Candidate(
            id=member,
            available=statuses[member].available if member in statuses else True,
            open_tickets=load.get(member, 0),
            max_open=statuses[member].max_open if member in statuses else None,
        )
        for member in members
    ]


def auto_assign(*, ticket_id: int) -> User | None:
    """Assign an unassigned ticket by its team's strategy; the agent, or None (manual team,
    nobody available or under capacity, or the ticket no longer waits)."""
    ticket = Ticket.objects.filter(pk=ticket_id).values("team_id", "assignee_id", "status").first()
    if ticket is None or ticket["team_id"] is None or ticket["assignee_id"] is not None:
        return None
    if ticket["status"] in DONE:
        return None
    with transaction.atomic():
        routing = (
            TeamRouting.objects.select_for_update()
            .select_related("team")
            .filter(team_id=ticket["team_id"])
            .first()
        )
        if routing is None or routing.strategy == TeamRouting.Strategy.MANUAL:
            return None
        chosen = decide.choose(
            routing.strategy, candidates(routing.team_id), routing.last_assignee_id
        )
        if chosen is None:
            return None
        agent = User.objects.get(pk=chosen)
        reason = _("Assigned by %(strategy)s in %(team)s") % {
            "strategy": routing.get_strategy_display(),
            "team": routing.team.name,
        }
        from helpline.tickets.services import ticket_route_assign

        if ticket_route_assign(ticket_id=ticket_id, assignee=agent, reason=reason) is None:
            return None
        routing.last_assignee = agent
        routing.save(update_fields=["last_assignee"])
    return agent


def reoffer(*, team_ids: list[int]) -> int:
    """Offer the waiting (new/open, unassigned) tickets of these teams again, oldest first,
    until nobody can take more. Returns how many were assigned."""
    assigned = 0
    waiting = (
        Ticket.objects.filter(
            team_id__in=team_ids,
            assignee__isnull=True,
            status__in=(Status.NEW, Status.OPEN),
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:REOFFER_BATCH]
    )
    for ticket_id in list(waiting):
        if auto_assign(ticket_id=ticket_id) is None:
            break
        assigned += 1
    return assigned
