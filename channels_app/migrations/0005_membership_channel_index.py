"""Drop the membership table's single-column channel index: the (channel, user)
unique index answers every lookup by channel, and each index costs every insert."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0004_member_count'),
    ]

    operations = [
        migrations.AlterField(
            model_name='membership',
            name='channel',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='channels_app.channel'),
        ),
    ]
