"""Routes of the agent desk (`/desk/`), included into the `tickets` URL namespace."""

from django.urls import path

from helpline.tickets import views_desk

urlpatterns = [
    path("desk/", views_desk.desk_queue, name="desk"),
    path("desk/bulk/", views_desk.desk_bulk, name="desk_bulk"),
    path("desk/search/", views_desk.desk_search, name="desk_search"),
    path("desk/views/", views_desk.desk_view_save, name="desk_view_save"),
    path("desk/views/<int:view_id>/delete/", views_desk.desk_view_delete, name="desk_view_delete"),
    path("desk/tickets/<int:ticket_id>/", views_desk.desk_ticket, name="desk_ticket"),
    path(
        "desk/tickets/<int:ticket_id>/<slug:action>/",
        views_desk.desk_action,
        name="desk_action",
    ),
]
