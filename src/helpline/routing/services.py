"""Routing: configure a team's strategy, set agents available or away, assign automatically.

Automatic assignments go through `tickets.services.ticket_route_assign`, so each one is
audited (with its reason) and emits `ticket.assigned` like a manual assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, Team, User
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.core.memo import memo, memoized
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


_UNSET: Any = object()


def agent_update(
    *,
    actor: User,
    user: User,
    available: bool = _UNSET,
    max_open: int | None = _UNSET,
    skill_ids: Iterable[int] = _UNSET,
) -> AgentStatus:
    """Change an agent's availability, capacity (None: no limit) and skills, any of them:
    all is checked first and applied in one transaction, so a refused part changes nothing.

    Agents set their own availability; supervisors and administrators change anyone's
    availability, capacity and skills. Becoming available re-offers the unassigned work of
    the agent's teams (after commit)."""
    if not user.is_staff_member:
        raise ValidationError(_("Only agents have routing settings."), fields={"user": "not_agent"})
    if not actor.sees_all_tickets:
        if actor.pk != user.pk:
            raise PermissionDenied(_("You may set only your own availability."))
        if max_open is not _UNSET:
            raise PermissionDenied(_("Only supervisors and administrators set capacity."))
        if skill_ids is not _UNSET:
            raise PermissionDenied(_("Only supervisors and administrators set skills."))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if available is not _UNSET:
        values["available"] = bool(available)
    if max_open is not _UNSET:
        if max_open is not None and max_open < 1:
            errors["max_open"] = "invalid"
        values["max_open"] = max_open
    wanted: set[int] = set()
    if skill_ids is not _UNSET:
        wanted = set(skill_ids)
        if Skill.objects.filter(pk__in=wanted).count() != len(wanted):
            errors["skill_ids"] = "not_found"
    if errors:
        raise ValidationError(_("Invalid routing settings."), fields=errors)
    with transaction.atomic():
        # the status row, locked, serializes concurrent changes of the same agent
        status, created = AgentStatus.objects.select_for_update().get_or_create(
            user=user, defaults=values
        )
        was_available = created or status.available
        changed = [name for name, value in values.items() if getattr(status, name) != value]
        if changed:
            for name in changed:
                setattr(status, name, values[name])
            status.save(update_fields=[*changed, "changed_at"])
        if skill_ids is not _UNSET:
            AgentSkill.objects.filter(user=user).exclude(skill_id__in=wanted).delete()
            have = set(AgentSkill.objects.filter(user=user).values_list("skill_id", flat=True))
            AgentSkill.objects.bulk_create(
                [AgentSkill(user=user, skill_id=pk) for pk in sorted(wanted - have)]
            )
        if status.available and not was_available:
            from helpline.core.tasks import enqueue
            from helpline.routing.tasks import reoffer_for_agent

            transaction.on_commit(lambda: enqueue(reoffer_for_agent, user.pk))
    return status


def agent_set_availability(*, actor: User, user: User, available: bool) -> AgentStatus:
    """An agent sets themselves available or away (`agent_update` of the availability)."""
    return agent_update(actor=actor, user=user, available=available)


# The decision is the hot path of every automatic assignment: two constant statements (table
# names are fixed; no ORM compilation), the team's routing row and the candidates. The open
# count is an index-only scan per agent (ticket_assignee_status: assignee_id, status, ...).
ROUTING_SQL = (
    "SELECT r.id, r.strategy, r.last_assignee_id, t.name FROM routing_teamrouting r "
    "JOIN accounts_team t ON t.id = r.team_id WHERE r.team_id = %s"
)
# SQLite has no row locks (its write transactions are serialized anyway).
ROUTING_LOCK_SQL = ROUTING_SQL + " FOR UPDATE OF r"
CANDIDATES_SQL = (
    "SELECT m.user_id, s.available, s.max_open, (SELECT count(*) FROM tickets_ticket t "
    "WHERE t.assignee_id = m.user_id AND t.status NOT IN (%s, %s)){skills} "
    "FROM accounts_teammembership m JOIN accounts_user u ON u.id = m.user_id "
    "LEFT JOIN routing_agentstatus s ON s.user_id = m.user_id "
    "WHERE m.team_id = %s AND u.is_active = %s AND u.role IN (%s, %s)"
)
# Each agent's skills in the same statement: an array on PostgreSQL, "1,5" on SQLite.
_SKILLS = {
    "postgresql": ", ARRAY(SELECT k.skill_id FROM routing_agentskill k "
    "WHERE k.user_id = m.user_id)",
    "sqlite": ", (SELECT group_concat(k.skill_id) FROM routing_agentskill k "
    "WHERE k.user_id = m.user_id)",
}


@dataclass(frozen=True)
class Routing:
    """A team's routing configuration as the decision reads it."""

    id: int
    strategy: str
    last_assignee_id: int | None
    team_name: str

    @property
    def strategy_label(self) -> str:
        return str(TeamRouting.Strategy(self.strategy).label)


def routing_of(team_id: int, *, lock: bool = False) -> Routing | None:
    """The team's routing row (locked for the transaction with `lock`), one statement."""
    with connection.cursor() as cursor:
        locking = lock and connection.features.has_select_for_update
        cursor.execute(ROUTING_LOCK_SQL if locking else ROUTING_SQL, [team_id])
        row = cursor.fetchone()
    return None if row is None else Routing(*row)


def _skill_ids(value: Any) -> frozenset[int]:
    if not value:
        return frozenset()
    if isinstance(value, str):
        return frozenset(int(part) for part in value.split(","))
    return frozenset(value)


def candidates(team_id: int, *, with_skills: bool = False) -> list[decide.Candidate]:
    """The team's active agents with availability, capacity, open tickets (and skills when
    asked), in one query."""
    skills = _SKILLS.get(connection.vendor, _SKILLS["sqlite"]) if with_skills else ""
    with connection.cursor() as cursor:
        cursor.execute(
            CANDIDATES_SQL.format(skills=skills),
            [Status.SOLVED, Status.CLOSED, team_id, True, Role.AGENT, Role.SUPERVISOR],
        )
        rows = cursor.fetchall()
    Candidate = decide.Candidate
    if with_skills:
        return [
            Candidate(
                id=row[0],
                available=row[1] is None or bool(row[1]),
                open_tickets=row[3],
                max_open=row[2],
                skills=_skill_ids(row[4]),
            )
            for row in rows
        ]
    return [
        Candidate(
            id=user_id,
            available=available is None or bool(available),
            open_tickets=load,
            max_open=max_open,
        )
        for user_id, available, max_open, load in rows
    ]


# Part of the skills strategy's decision: constant statements, as the candidates'.
SKILLS_SQL = "SELECT id, name, kind, category_id, value FROM routing_skill ORDER BY kind, name"
SKILL_FIELDS = ["id", "name", "kind", "category_id", "value"]
TICKET_NEEDS_SQL = (
    "SELECT t.category_id, u.language FROM tickets_ticket t "
    "JOIN accounts_user u ON u.id = t.requester_id WHERE t.id = %s"
)


def _all_skills() -> list[Skill]:
    with connection.cursor() as cursor:
        cursor.execute(SKILLS_SQL)
        return [Skill.from_db(connection.alias, SKILL_FIELDS, row) for row in cursor.fetchall()]


def required_skills(ticket_id: int) -> list[Skill]:
    """The skills this ticket needs: its category's (or an ancestor's), its requester's
    language's, and its tags' (products)."""
    skills = memo("routing.skills", _all_skills)
    if not skills:
        return []
    with connection.cursor() as cursor:
        cursor.execute(TICKET_NEEDS_SQL, [ticket_id])
        found = cursor.fetchone()
    if found is None:
        return []
    row = {"category_id": found[0], "requester__language": found[1]}
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


def _reason(routing: Routing, needed: list[Skill], fallback: bool) -> str:
    reason = _("Assigned by %(strategy)s in %(team)s") % {
        "strategy": routing.strategy_label,
        "team": routing.team_name,
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
    return auto_assign_many(ticket_ids=[ticket_id]).get(ticket_id)


def auto_assign_many(*, ticket_ids: Sequence[int]) -> dict[int, User]:
    """`auto_assign` of several tickets (a batch of new ones), in the order given, deciding
    as one by one would: per team, its routing locked and its candidates read once, and
    each assignment counted against its agent's capacity (and as the last assignee) for
    the next decision. The agents chosen, by ticket id."""
    rows = Ticket.objects.filter(pk__in=list(ticket_ids)).values_list(
        "pk", "team_id", "assignee_id", "status"
    )
    found = {pk: (team_id, assignee_id, status) for pk, team_id, assignee_id, status in rows}
    by_team: dict[int, list[int]] = {}
    for ticket_id in dict.fromkeys(ticket_ids):
        if ticket_id not in found:
            continue
        team_id, assignee_id, status = found[ticket_id]
        if team_id is not None and assignee_id is None and status not in DONE:
            by_team.setdefault(team_id, []).append(ticket_id)
    from helpline.tickets.services import ticket_route_assign

    assigned: dict[int, User] = {}
    for team_id, waiting in by_team.items():
        # the skills and the category tree read once per team, not once per ticket
        with transaction.atomic(), memoized():
            routing = routing_of(team_id, lock=True)
            if routing is None or routing.strategy == TeamRouting.Strategy.MANUAL:
                continue
            by_skills = routing.strategy == TeamRouting.Strategy.SKILLS
            pool = candidates(team_id, with_skills=by_skills)
            agents: dict[int, User] = {}
            last = routing.last_assignee_id
            for ticket_id in waiting:
                needed = required_skills(ticket_id) if by_skills else []
                required = frozenset(skill.pk for skill in needed)
                chosen = decide.choose(routing.strategy, pool, last, required)
                if chosen is None:
                    continue
                if chosen not in agents:
                    agents[chosen] = User.objects.get(pk=chosen)
                fallback = bool(required) and not decide.skilled(pool, required)
                reason = _reason(routing, needed, fallback)
                agent = agents[chosen]
                if ticket_route_assign(ticket_id=ticket_id, assignee=agent, reason=reason) is None:
                    continue
                assigned[ticket_id] = agent
                last = chosen
                pool = [
                    replace(candidate, open_tickets=candidate.open_tickets + 1)
                    if candidate.id == chosen
                    else candidate
                    for candidate in pool
                ]
            if last != routing.last_assignee_id:
                TeamRouting.objects.filter(pk=routing.id).update(last_assignee=last)
    return assigned


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
        .values_list("team_id", flat=True)
    )
    for team_id in list(automatic):
        waiting = ordering.in_queue_order(
            Ticket.objects.filter(
                team_id=team_id,
                assignee__isnull=True,
                status__in=(Status.NEW, Status.OPEN),
            )
        ).values_list("pk", flat=True)[:REOFFER_BATCH]
        # In queue order, each assignment counted against its agent's capacity; a ticket
        # nobody can take is passed over (on a skills team its skilled agents may be away
        # while others can take the tickets behind it).
        assigned += len(auto_assign_many(ticket_ids=list(waiting)))
    return assigned
