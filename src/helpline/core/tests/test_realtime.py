"""Real-time pushes: a WebSocket subscriber of a ticket hears about its changes,
and only users who may see the ticket can subscribe."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from helpline.core.consumers import TicketUpdatesConsumer
from helpline.core.testing import build_desk
from helpline.tickets import services


def communicator(user, ticket_id: int) -> WebsocketCommunicator:
    app = TicketUpdatesConsumer.as_asgi()
    comm = WebsocketCommunicator(app, f"/ws/tickets/{ticket_id}/")
    comm.scope["user"] = user
    comm.scope["url_route"] = {"kwargs": {"ticket_id": ticket_id}}
    return comm


@pytest.mark.django_db(transaction=True)
def test_subscriber_hears_ticket_changes_and_strangers_are_refused() -> None:
    async_to_sync(scenario)()


async def scenario() -> None:
    desk = await sync_to_async(build_desk)()
    ticket = await sync_to_async(services.ticket_create)(
        actor=desk.alice, subject="Printer", body="Broken"
    )

    # a customer of another organization cannot subscribe
    stranger = communicator(desk.carol, ticket.pk)
    connected, code = await stranger.connect()
    assert not connected and code == 4404

    # the agent of the ticket's team subscribes and hears a reply being added
    agent = communicator(desk.agent1, ticket.pk)
    connected, _ = await agent.connect()
    assert connected
    await sync_to_async(services.ticket_reply)(actor=desk.alice, ticket=ticket, body="Any news?")
    notice = await agent.receive_json_from(timeout=5)
    assert notice == {"event": "ticket.message_added", "ticket": str(ticket.pk)}
    await agent.disconnect()
