from django.urls import path

from helpline.tickets import urls_desk, views

app_name = "tickets"

urlpatterns = [
    *urls_desk.urlpatterns,
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("", views.portal_home, name="portal"),
    path("requests/new/", views.portal_new, name="portal_new"),
    path("requests/<int:ticket_id>/", views.portal_request, name="portal_request"),
    path("requests/<int:ticket_id>/status/", views.portal_status, name="portal_status"),
    path("requests/<int:ticket_id>/follow/<str:token>/", views.portal_follow, name="portal_follow"),
    path(
        "requests/<int:ticket_id>/follow/<str:token>/attachments/<int:attachment_id>/",
        views.portal_follow_attachment,
        name="portal_follow_attachment",
    ),
]
