from django.db import migrations

DEFAULTS = [
    ("new", False),
    ("open", False),
    ("pending_customer", True),
    ("pending_third_party", False),
    ("on_hold", True),
    ("solved", True),
    ("closed", True),
]


def seed(apps, schema_editor):
    StatusConfig = apps.get_model("tickets", "StatusConfig")
    for position, (status, pauses) in enumerate(DEFAULTS):
        StatusConfig.objects.get_or_create(
            status=status, defaults={"pauses_sla": pauses, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
