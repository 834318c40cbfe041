from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chatengine", "0007_deleted_users"),
    ]

    operations = [
        migrations.AddField(
            model_name="watch",
            name="presence",
            field=models.BooleanField(default=False),
        ),
    ]
