from django.urls import path

from helpline.tickets import views, views_desk

app_name = "tickets"

urlpatterns = [
    path("desk/", views_desk.desk_queue, name="desk"),
    path("desk/tickets/<int:ticket_id>/", views_desk.desk_ticket, name="desk_ticket"),
    path("desk/tickets/<int:ticket_id>/<slug:action>/", views_desk.desk_action, name="desk_action"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("", views.portal_home, name="portal"),
    path("requests/new/", views.portal_new, name="portal_new"),
    path("requests/<int:ticket_id>/", views.portal_request, name="portal_request"),
    path("requests/<int:ticket_id>/status/", views.portal_status, name="portal_status"),
]
