"""SLA timers driven by ticket events and a controllable clock."""

from __future__ import annotations

from helpline.sla import config, services, tasks
from helpline.sla.events import SlaBreached, SlaTimerStarted, SlaWarning
from helpline.sla.models import SlaTimer
from helpline.sla.tests.conftest import at, timers
from helpline.tickets import services as tickets
from helpline.tickets.models import AuditEntry, Priority, Ticket


def test_creation_starts_first_response_and_resolution(
    desk, act, open_ticket, clock, standard, capture_events
):
    ticket = open_ticket()
    found = timers(ticket)
    assert set(found) == {"first_response", "resolution"}
    # Monday 09:00 + 60 business minutes; 8 business hours is Monday 17:00.
    assert found["first_response"].due_at == at(2026, 3, 9, 10)
    assert found["first_response"].warn_at == at(2026, 3, 9, 9, 45)
    assert found["resolution"].due_at == at(2026, 3, 9, 17)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == at(2026, 3, 9, 10)
    assert len(capture_events.of(SlaTimerStarted)) == 2
    assert AuditEntry.objects.filter(ticket=ticket, action="sla_started").count() == 2


def test_deadline_rolls_over_the_night(desk, act, open_ticket, clock, standard):
    clock.set(2026, 3, 9, 16, 30)
    ticket = open_ticket()
    # 30 minutes on Monday, 30 on Tuesday morning.
    assert timers(ticket)["first_response"].due_at == at(2026, 3, 10, 9, 30)


def test_pause_while_pending_customer_and_resume_on_reply(desk, act, open_ticket, clock, standard):
    ticket = open_ticket()
    clock.set(2026, 3, 9, 9, 20)
    act(
        tickets.ticket_reply,
        actor=desk.agent1,
        ticket=ticket,
        body="Try again?",
        status="pending_customer",
    )
    found = timers(ticket)
    assert found["first_response"].state == SlaTimer.State.MET
    assert found["first_response"].elapsed_seconds == 20 * 60
    resolution = found["resolution"]
    assert resolution.state == SlaTimer.State.PAUSED
    assert resolution.elapsed_seconds == 20 * 60 and resolution.due_at is None
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None  # nothing is running while we wait for the customer

    # Wednesday 11:00 the customer answers: the ticket reopens, resolution resumes with
    # 460 minutes left (Wed 11-17 = 6h, then Thu 09:00-10:40), and a next-response clock
    # starts (120 business minutes -> Wed 13:00).
    clock.set(2026, 3, 11, 11)
    act(tickets.ticket_reply, actor=desk.alice, ticket=ticket, body="Still broken.")
    found = timers(ticket)
    assert found["resolution"].state == SlaTimer.State.RUNNING
    assert found["resolution"].due_at == at(2026, 3, 12, 10, 40)
    assert found["next_response"].due_at == at(2026, 3, 11, 13)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == at(2026, 3, 11, 13)
    actions = list(
        AuditEntry.objects.filter(ticket=ticket, action__startswith="sla_").values_list(
            "action", flat=True
        )
    )
    assert actions.count("sla_paused") == 1 and actions.count("sla_resumed") == 1

    # The agent's reply meets the next-response clock.
    clock.set(2026, 3, 11, 12)
    act(tickets.ticket_reply, actor=desk.agent1, ticket=ticket, body="Fixed now.")
    assert timers(ticket)["next_response"].state == SlaTimer.State.MET


def test_solve_meets_resolution_reopen_resumes_close_cancels(
    desk, act, open_ticket, clock, standard
):
    ticket = open_ticket()
    clock.set(2026, 3, 9, 10)
    act(tickets.ticket_change_status, actor=desk.agent1, ticket=ticket, status="solved")
    found = timers(ticket)
    assert found["resolution"].state == SlaTimer.State.MET
    assert found["first_response"].state == SlaTimer.State.CANCELLED
    clock.set(2026, 3, 9, 15)
    act(tickets.ticket_change_status, actor=desk.alice, ticket=ticket, status="open")
    resolution = timers(ticket)["resolution"]
    # 1 hour was used; reopened at 15:00 with 7 hours left -> Tuesday 14:00.
    assert resolution.state == SlaTimer.State.RUNNING
    assert resolution.due_at == at(2026, 3, 10, 14)
    act(tickets.ticket_change_status, actor=desk.agent1, ticket=ticket, status="solved")
    act(tickets.ticket_change_status, actor=desk.agent1, ticket=ticket, status="closed")
    assert not ticket.sla_timers.filter(state__in=services.ACTIVE_STATES).exists()


def test_priority_change_retargets_mid_flight(desk, act, open_ticket, clock, standard):
    config.policy_create(
        actor=desk.admin, name="Urgent", position=1, priorities=["urgent"],
        first_response_minutes=15, resolution_minutes=120,
    )  # fmt: skip
    ticket = open_ticket()
    assert timers(ticket)["first_response"].due_at == at(2026, 3, 9, 10)
    clock.set(2026, 3, 9, 9, 10)
    act(tickets.ticket_update, actor=desk.agent1, ticket=ticket, priority="urgent")
    first = timers(ticket)["first_response"]
    # 10 minutes used of the new 15-minute target: due 09:15.
    assert first.target_seconds == 15 * 60 and first.due_at == at(2026, 3, 9, 9, 15)
    assert first.policy.name == "Urgent"
    ticket.refresh_from_db()
    assert ticket.sla_due_at == at(2026, 3, 9, 9, 15)
    entry = AuditEntry.objects.get(
        ticket=ticket, action="sla_retargeted", field="sla.first_response"
    )
    assert entry.before == {"target_seconds": 3600, "due_at": "2026-03-09T09:00:00+00:00"}
    assert entry.after == {"target_seconds": 900, "due_at": "2026-03-09T08:15:00+00:00"}


def test_plans_carry_their_own_policy(desk, act, open_ticket, clock, office):
    from helpline.accounts import services as accounts
    from helpline.accounts.models import Organization

    basic = accounts.support_plan_create(actor=desk.admin, code="basic", name="Basic")
    Organization.objects.filter(pk=desk.globex.pk).update(plan=basic)
    config.policy_create(
        actor=desk.admin, name="Premium", plan=desk.premium, first_response_minutes=5 * 60
    )
    config.policy_create(actor=desk.admin, name="Basic", plan=basic, first_response_minutes=24 * 60)
    premium_ticket = open_ticket(desk.alice)
    basic_ticket = open_ticket(desk.carol)
    # Premium: 5 business hours -> Monday 14:00. Basic: 24 business hours = three 8-hour
    # days -> Wednesday 17:00.
    assert timers(premium_ticket)["first_response"].due_at == at(2026, 3, 9, 14)
    assert timers(basic_ticket)["first_response"].due_at == at(2026, 3, 11, 17)
    assert not open_ticket(desk.dave).sla_timers.exists()  # no plan, no policy


def test_calendar_resolution_prefers_organization_then_plan_then_team(
    desk, act, open_ticket, clock, office
):
    moscow = config.calendar_create(
        actor=desk.admin, name="Moscow", tz="Europe/Moscow", hours={"mon": [["09:00", "18:00"]]},
        organizations=[desk.acme],
    )  # fmt: skip
    night = config.calendar_create(
        actor=desk.admin, name="Night", tz="UTC", hours={"mon": [["22:00", "06:00"]]},
        teams=[desk.l2], plans=[desk.premium],
    )  # fmt: skip
    ticket = open_ticket()
    assert services.resolve_calendar(ticket, None) == moscow
    assert services.resolve_calendar(ticket, None, team_id=desk.l2.pk) == night  # OLA: team
    carol_ticket = open_ticket(desk.carol)
    assert services.resolve_calendar(carol_ticket, None) == office  # default
    config.calendar_update(actor=desk.admin, calendar=moscow, organizations=[])
    assert services.resolve_calendar(ticket, None) == night  # Acme's plan (premium)


def test_warning_and_breach_fire_exactly_once(desk, act, open_ticket, clock, office):
    config.policy_create(
        actor=desk.admin,
        name="Strict",
        first_response_minutes=60,
        breach_actions=[
            "notify_assignee", "notify_team_lead", "notify_service_manager", "raise_priority"
        ],
    )  # fmt: skip
    ticket = open_ticket()
    clock.set(2026, 3, 9, 9, 44)
    assert act(services.process_due) == (0, 0)
    clock.set(2026, 3, 9, 9, 45)
    act(tasks.fire_due_sla_timers.call_local)
    warnings = SlaWarning
    from helpline.core.models import OutboxEvent

    def payloads(event_cls):
        return [r.payload for r in OutboxEvent.objects.filter(type=event_cls.type)]

    assert len(payloads(warnings)) == 1
    # No assignee: the L1 lead (agent1) and Acme's service manager (agent2) are told.
    assert payloads(warnings)[0]["recipients"] == [desk.agent1.pk, desk.agent2.pk]
    clock.set(2026, 3, 9, 10)
    act(tasks.fire_due_sla_timers.call_local)
    act(tasks.fire_due_sla_timers.call_local)
    clock.set(2026, 3, 9, 10, 5)
    assert act(services.process_due) == (0, 0)
    timer = timers(ticket)["first_response"]
    assert services.timer_breach(timer_id=timer.pk, now=clock()) is False
    assert len(payloads(SlaBreached)) == 1 and len(payloads(warnings)) == 1
    assert timer.breached_at == at(2026, 3, 9, 10)
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH  # raised once, by the SLA account
    raised = AuditEntry.objects.get(ticket=ticket, action="field_changed", field="priority")
    assert raised.actor == services.sla_actor()
    assert AuditEntry.objects.filter(ticket=ticket, action="sla_breached").count() == 1
    # Answering late meets the timer and says so.
    act(tickets.ticket_reply, actor=desk.agent1, ticket=ticket, body="Sorry for the wait.")
    assert AuditEntry.objects.get(ticket=ticket, action="sla_met").note == "late"


def test_restarted_worker_catches_up(desk, act, open_ticket, clock, standard):
    tickets_made = [open_ticket() for _ in range(3)]
    # The worker was down from Monday 09:00 until Tuesday 12:00: everything that came due
    # (three first-response and three resolution deadlines, with their warnings) fires on
    # the first run, and nothing on the second.
    clock.set(2026, 3, 10, 12)
    assert act(services.process_due) == (6, 6)
    assert act(services.process_due) == (0, 0)
    for ticket in tickets_made:
        assert all(t.breached_at == clock() for t in ticket.sla_timers.all())


def test_ola_measures_the_team_receiving_an_escalation(
    desk, act, open_ticket, clock, standard, capture_events
):
    config.policy_create(
        actor=desk.admin, name="L2 hand-off", kind="ola", team=desk.l2, first_response_minutes=30,
        breach_actions=["notify_team_lead"],
    )  # fmt: skip
    ticket = open_ticket()
    clock.set(2026, 3, 9, 9, 10)
    act(
        tickets.ticket_escalate,
        actor=desk.agent1,
        ticket=ticket,
        note="Needs L2: VPN concentrator.",
    )
    handoff = timers(ticket)["handoff_response"]
    assert handoff.team_id == desk.l2.pk and handoff.due_at == at(2026, 3, 9, 9, 40)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == at(2026, 3, 9, 9, 40)
    # A note from L1 does not answer the hand-off; one from L2 does.
    act(tickets.ticket_add_note, actor=desk.agent1, ticket=ticket, body="Any news?")
    assert timers(ticket)["handoff_response"].state == SlaTimer.State.RUNNING
    clock.set(2026, 3, 9, 9, 25)
    act(tickets.ticket_add_note, actor=desk.agent2, ticket=ticket, body="Looking at it.")
    handoff = timers(ticket)["handoff_response"]
    assert handoff.state == SlaTimer.State.MET and handoff.elapsed_seconds == 15 * 60


def test_ola_breach_when_the_receiving_team_is_slow(desk, act, open_ticket, clock, standard):
    config.policy_create(
        actor=desk.admin, name="L2 hand-off", kind="ola", team=desk.l2, first_response_minutes=30,
    )  # fmt: skip
    ticket = open_ticket()
    act(tickets.ticket_escalate, actor=desk.agent1, ticket=ticket, note="Needs L2.")
    clock.set(2026, 3, 9, 9, 30)
    act(services.process_due)
    handoff = Ticket.objects.get(pk=ticket.pk).sla_timers.get(kind="handoff_response")
    assert handoff.breached_at == at(2026, 3, 9, 9, 30)
    # Handing the ticket on cancels the L2 clock.
    act(tickets.ticket_transfer, actor=desk.admin, ticket=ticket, team=desk.finance_team)
    handoff.refresh_from_db()
    assert handoff.state == SlaTimer.State.CANCELLED


def test_a_policy_that_applies_later_starts_what_creation_would(
    desk, act, open_ticket, clock, office, capture_events
):
    # Given a policy for urgent tickets only, a normal ticket (no timers) and a normal one
    # already answered
    config.policy_create(
        actor=desk.admin, name="Urgent", priorities=["urgent"], first_response_minutes=15,
        resolution_minutes=120,
    )  # fmt: skip
    later = open_ticket()
    answered = open_ticket(desk.bob)
    assert not later.sla_timers.exists() and not answered.sla_timers.exists()
    clock.set(2026, 3, 9, 9, 5)
    act(tickets.ticket_reply, actor=desk.agent1, ticket=answered, body="Looking into it.")
    # When at 09:10 one urgent ticket is opened and the other two become urgent
    clock.set(2026, 3, 9, 9, 10)
    at_once = open_ticket(desk.agent1, requester=desk.alice, priority="urgent")
    for ticket in (later, answered):
        act(tickets.ticket_update, actor=desk.agent1, ticket=ticket, priority="urgent")
    # Then the ticket that became urgent got the timers of the one opened urgent
    fields = (
        "target_seconds", "business", "state", "policy_id", "calendar_id", "started_at",
        "running_since", "due_at", "warn_at",
    )  # fmt: skip

    def started(ticket):
        return {kind: [getattr(timer, f) for f in fields] for kind, timer in timers(ticket).items()}

    assert set(started(at_once)) == {"first_response", "resolution"}
    assert started(later) == started(at_once)
    assert timers(later)["first_response"].due_at == at(2026, 3, 9, 9, 25)
    # and the answered one only the resolution timer
    assert started(answered) == {"resolution": started(at_once)["resolution"]}

    def audit(ticket):
        return list(
            AuditEntry.objects.filter(ticket=ticket, action="sla_started")
            .order_by("pk")
            .values_list("field", "after", "note")
        )

    assert audit(later) == audit(at_once)
    assert [note for _field, _after, note in audit(later)] == ["Urgent", "Urgent"]
    assert len(capture_events.of(SlaTimerStarted)) == 5
    later.refresh_from_db()
    assert later.sla_due_at == at(2026, 3, 9, 9, 25)


def test_catching_up_in_small_batches_fires_each_warning_and_breach_once(
    desk, act, open_ticket, clock, standard
):
    made = [open_ticket() for _ in range(3)]
    clock.set(2026, 3, 10, 12)
    # six warnings and six breaches came due; two at a time, earliest first
    assert act(services.process_due, batch=2) == (6, 6)
    assert act(services.process_due, batch=2) == (0, 0)
    fired = SlaTimer.objects.filter(ticket__in=made)
    assert all(t.warned_at == clock() and t.breached_at == clock() for t in fired)
    assert AuditEntry.objects.filter(ticket__in=made, action="sla_breached").count() == 6
