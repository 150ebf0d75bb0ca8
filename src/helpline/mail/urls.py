from django.urls import path

from helpline.mail import views, views_admin

app_name = "mail"

urlpatterns = [
    path("mail/inbound/<int:inbound_id>/inline/", views.inline_image, name="inline"),
    path("mail/inbound/<int:inbound_id>/raw/", views.raw_message, name="raw"),
    path("desk/admin/mailboxes/", views_admin.mailboxes, name="admin_mailboxes"),
    path("desk/admin/mailboxes/<int:mailbox_id>/", views_admin.mailbox, name="admin_mailbox"),
]
