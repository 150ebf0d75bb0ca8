"""Property-based test of the ticket status machine: no sequence of operations, by any
actor, reaches an invalid state (hypothesis stateful testing against the real database)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from helpline.core.errors import DomainError
from helpline.core.models import OutboxEvent
from helpline.core.testing import Desk
from helpline.tickets import services
from helpline.tickets.models import AuditEntry, Message, Status, Ticket

ACTORS = ("alice", "bob", "carol", "agent1", "agent2", "admin")
STATUSES = st.sampled_from(Status.values)


class TicketStatusMachine(RuleBasedStateMachine):
    desk: ClassVar[Desk]
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.closed: set[int] = set()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def actor(self, name: str) -> Any:
        return getattr(self.desk, name)

    def attempt(self, ticket_id: int, operation: Any) -> None:
        """Run an operation; a refusal must leave the ticket exactly as it was."""
        before = Ticket.objects.values().get(pk=ticket_id)
        try:
            with transaction.atomic():
                operation()
        except DomainError:
            assert Ticket.objects.values().get(pk=ticket_id) == before

    @rule(target=tickets, who=st.sampled_from(("alice", "bob", "carol", "dave")))
    def create(self, who: str) -> int:
        return services.ticket_create(actor=self.actor(who), subject="S", body="B").pk

    @rule(ticket=tickets, who=st.sampled_from(ACTORS), status=STATUSES)
    def change_status(self, ticket: int, who: str, status: str) -> None:
        before = Ticket.objects.get(pk=ticket).status
        actor = self.actor(who)
        self.attempt(
            ticket,
            lambda: services.ticket_change_status(
                actor=actor, ticket=Ticket.objects.get(pk=ticket), status=status
            ),
        )
        after = Ticket.objects.get(pk=ticket).status
        if after != before:
            table = services.TRANSITIONS if actor.is_staff_member else services.CUSTOMER_TRANSITIONS
            assert after in table[before], f"{who} moved {before} -> {after}"

    @rule(ticket=tickets, who=st.sampled_from(ACTORS), status=st.none() | STATUSES)
    def reply(self, ticket: int, who: str, status: str | None) -> None:
        actor = self.actor(who)
        self.attempt(
            ticket,
            lambda: services.ticket_reply(
                actor=actor, ticket=Ticket.objects.get(pk=ticket), body="reply", status=status
            ),
        )

    @rule(ticket=tickets, who=st.sampled_from(ACTORS))
    def note(self, ticket: int, who: str) -> None:
        actor = self.actor(who)
        self.attempt(
            ticket,
            lambda: services.ticket_add_note(
                actor=actor, ticket=Ticket.objects.get(pk=ticket), body="note"
            ),
        )

    @rule(ticket=tickets, who=st.sampled_from(("agent1", "agent2", "admin")))
    def escalate(self, ticket: int, who: str) -> None:
        actor = self.actor(who)
        self.attempt(
            ticket,
            lambda: services.ticket_escalate(
                actor=actor, ticket=Ticket.objects.get(pk=ticket), note="hand-off"
            ),
        )

    @rule(ticket=tickets, who=st.sampled_from(("agent1", "agent2", "admin")))
    def assign_self(self, ticket: int, who: str) -> None:
        actor = self.actor(who)
        self.attempt(
            ticket,
            lambda: services.ticket_assign(
                actor=actor, ticket=Ticket.objects.get(pk=ticket), assignee=actor
            ),
        )

    @rule(source=tickets, into=tickets)
    def merge(self, source: int, into: int) -> None:
        self.attempt(
            source,
            lambda: services.ticket_merge(
                actor=self.desk.admin,
                source=Ticket.objects.get(pk=source),
                target=Ticket.objects.get(pk=into),
            ),
        )

    @invariant()
    def every_ticket_is_consistent(self) -> None:
        for ticket in Ticket.objects.all():
            assert ticket.status in Status.values
            finished = ticket.status in (Status.SOLVED, Status.CLOSED)
            assert (ticket.solved_at is not None) == finished, ticket.status
            assert (ticket.closed_at is not None) == (ticket.status == Status.CLOSED)
            if ticket.merged_into_id is not None:
                assert ticket.status == Status.CLOSED
                assert ticket.merged_into_id != ticket.pk
            if ticket.pk in self.closed:
                assert ticket.status == Status.CLOSED, "a closed ticket changed status"
            if ticket.status == Status.CLOSED:
                self.closed.add(ticket.pk)
            assert ticket.message_count == Message.objects.filter(ticket=ticket).count()
            if ticket.assignee is not None:
                assert ticket.assignee.is_staff_member
            changes = AuditEntry.objects.filter(ticket=ticket, action="status_changed").count()
            emitted = OutboxEvent.objects.filter(
                type="ticket.status_changed", aggregate_id=str(ticket.pk)
            ).count()
            assert changes == emitted


def test_no_sequence_of_operations_reaches_an_invalid_state(desk: Desk) -> None:
    TicketStatusMachine.desk = desk
    run_state_machine_as_test(
        TicketStatusMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
