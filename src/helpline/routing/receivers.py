"""Routing receivers: new, transferred and escalated tickets go to an agent of their team."""

from __future__ import annotations

from typing import Any

from helpline.core.events import receiver
from helpline.routing import services
from helpline.tickets.events import Escalated, TicketCreated, Transferred


@receiver(TicketCreated, stage="automation")
@receiver(Transferred, stage="automation")
@receiver(Escalated, stage="automation")
def assign_by_team_strategy(event: TicketCreated | Transferred | Escalated, record: Any) -> None:
    services.auto_assign(ticket_id=event.ticket_id)
