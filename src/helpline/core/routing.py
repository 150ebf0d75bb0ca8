from django.urls import path

from helpline.core.consumers import TicketUpdatesConsumer

websocket_urlpatterns = [path("ws/tickets/<int:ticket_id>/", TicketUpdatesConsumer.as_asgi())]
