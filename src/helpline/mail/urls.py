from django.urls import path

from helpline.mail import views

app_name = "mail"

urlpatterns = [
    path("mail/inbound/<int:inbound_id>/inline/", views.inline_image, name="inline"),
    path("mail/inbound/<int:inbound_id>/raw/", views.raw_message, name="raw"),
]
