"""Routing: configure a team's strategy, set agents available or away, assign automatically.

Automatic assignments go through `tickets.services.ticket_route_assign`, so each one is
audited (with its reason) and emits `ticket.assigned` like a manual assignment.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, Team, User
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.routing import decide, ordering, rules
from helpline.routing.models import AgentSkill, AgentStatus, Skill, TeamRouting
from helpline.tickets.models import Status, Tag, Ticket

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


# The candidates' read is the hot path of every automatic assignment: one constant statement
# (table names are fixed), no ORM compilation; the open count is an index scan per agent.
CANDIDATES_SQL = (
    "SELECT m.user_id, s.available, s.max_open, (SELECT count(*) FROM tickets_ticket t "
    "WHERE t.assignee_id = m.user_id AND t.status NOT IN (%s, %s)) "
    "FROM accounts_teammembership m JOIN accounts_user u ON u.id = m.user_id "
    "LEFT JOIN routing_agentstatus s ON s.user_id = m.user_id "
    "WHERE m.team_id = %s AND u.is_active = %s AND u.role IN (%s, %s)"
)


def candidates(team_id: int, *, with_skills: bool = False) -> list[decide.Candidate]:
    """The team's active agents with availability, capacity and open tickets, in one query;
    skills in a second when asked."""
    with connection.cursor() as cursor:
        cursor.execute(
            CANDIDATES_SQL,
            [Status.SOLVED, Status.CLOSED, team_id, True, Role.AGENT, Role.SUPERVISOR],
        )
        rows = cursor.fetchall()
    skills: dict[int, set[int]] = {}
    if with_skills and rows:
        for user_id, skill_id in AgentSkill.objects.filter(
            user_id__in=[row[0] for row in rows]
        ).values_list("user_id", "skill_id"):
            skills.setdefault(user_id, set()).add(skill_id)
    return [
        decide.Candidate(
            id=user_id,
            available=available is None or bool(available),
            open_tickets=load,
            max_open=max_open,
            skills=frozenset(skills.get(user_id, ())),
        )
        for user_id, available, max_open, load in rows
    ]


def required_skills(ticket_id: int) -> list[Skill]:
    """The skills this ticket needs: its category's (or an ancestor's), its requester's
    language's, and its tags' (products)."""
    skills = list(Skill.objects.all())
    if not skills:
        return []
    ticket = Ticket.objects.filter(pk=ticket_id).values("category_id", "requester__language")
    row = ticket.first()
    if row is None:
        return []
    kinds = {skill.kind for skill in skills}
    categories = rules.category_chain(row["category_id"]) if Skill.Kind.CATEGORY in kinds else set()
    tags = (
        set(Tag.objects.filter(tickets=ticket_id).values_list("name", flat=True))
        if Skill.Kind.PRODUCT in kinds
        else set()
    )
    language = (row["requester__language"] or "").split("-")[0].lower()
    return [
        skill
        for skill in skills
        if (skill.kind == Skill.Kind.CATEGORY and skill.category_id in categories)
        or (skill.kind == Skill.Kind.LANGUAGE and language and skill.value.lower() == language)
        or (skill.kind == Skill.Kind.PRODUCT and skill.value in tags)
    ]


def _reason(routing: TeamRouting, needed: list[Skill], fallback: bool) -> str:
    reason = _("Assigned by %(strategy)s in %(team)s") % {
        "strategy": routing.get_strategy_display(),
        "team": routing.team.name,
    }
    if needed:
        names = ", ".join(skill.name for skill in needed)
        if fallback:
            reason += " " + _("(nobody in the team has all of: %(skills)s)") % {"skills": names}
        else:
            reason += " " + _("(skills: %(skills)s)") % {"skills": names}
    return reason


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
        by_skills = routing.strategy == TeamRouting.Strategy.SKILLS
        needed = required_skills(ticket_id) if by_skills else []
        required = frozenset(skill.pk for skill in needed)
        pool = candidates(routing.team_id, with_skills=by_skills)
        chosen = decide.choose(routing.strategy, pool, routing.last_assignee_id, required)
        if chosen is None:
            return None
        agent = User.objects.get(pk=chosen)
        fallback = bool(required) and not decide.skilled(pool, required)
        from helpline.tickets.services import ticket_route_assign

        reason = _reason(routing, needed, fallback)
        if ticket_route_assign(ticket_id=ticket_id, assignee=agent, reason=reason) is None:
            return None
        routing.last_assignee = agent
        routing.save(update_fields=["last_assignee"])
    return agent


def reoffer(*, team_ids: list[int]) -> int:
    """Offer the waiting (new/open, unassigned) tickets of these teams again, team by team
    (manual teams are skipped) in queue order (`ordering.in_queue_order`), until nobody in
    the team can take more; on a skills team, a ticket whose skilled agents are away does not
    hold back the tickets behind it. Returns how many were assigned."""
    assigned = 0
    automatic = (
        TeamRouting.objects.filter(team_id__in=team_ids)
        .exclude(strategy=TeamRouting.Strategy.MANUAL)
        .order_by("team_id")
        .values_list("team_id", "strategy")
    )
    for team_id, strategy in list(automatic):
        waiting = ordering.in_queue_order(
            Ticket.objects.filter(
                team_id=team_id,
                assignee__isnull=True,
                status__in=(Status.NEW, Status.OPEN),
            )
        ).values_list("pk", flat=True)[:REOFFER_BATCH]
        for ticket_id in list(waiting):
            if auto_assign(ticket_id=ticket_id) is not None:
                assigned += 1
            elif strategy != TeamRouting.Strategy.SKILLS or not any(
                candidate.can_take for candidate in candidates(team_id)
            ):
                # Nobody can take more. (On a skills team a ticket may wait for a skilled
                # agent who is away while others can still take the tickets behind it.)
                break
    return assigned
