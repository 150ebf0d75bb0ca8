from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "helpline.notifications"
    label = "notifications"
