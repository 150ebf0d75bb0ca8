"""WebSocket consumers: thin; they check access and relay domain-event notices."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpline.core.errors import NotFound
from helpline.core.realtime import group_for


class TicketUpdatesConsumer(AsyncJsonWebsocketConsumer):
    """Pushes a notice whenever a ticket the user may see changes."""

    group: str | None = None

    async def connect(self) -> None:
        ticket_id = self.scope["url_route"]["kwargs"]["ticket_id"]
        if not await self._may_see(ticket_id):
            await self.close(code=4404)
            return
        self.group = group_for("ticket", ticket_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def domain_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "ticket": message["aggregate_id"]})

    @database_sync_to_async
    def _may_see(self, ticket_id: int) -> bool:
        from helpline.tickets.access import access_ticket

        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return False
        try:
            access_ticket(user, ticket_id)
        except NotFound:
            return False
        return True
