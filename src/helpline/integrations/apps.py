from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "helpline.integrations"
    label = "integrations"
