"""The member-count triggers update each channel by its primary key.

Their single ``UPDATE ... FROM`` the transition table was planned as a hash
join over the whole channel table: the planner guesses a hundred distinct
channels for a hundred new rows, when a statement almost always writes one.
Adding 100 members to a channel read all 10,000 channels of the benchmark's
database (2 of the insert's 4.5 ms), and more as the platform grows. A loop
over the channels the statement touched, in id order (concurrent statements
lock channels in the same order), updates each through its primary key.
PostgreSQL only: SQLite's triggers are per row already.
"""

import importlib

from django.db import migrations

from tenants.rls import postgresql_only

_PER_CHANNEL = """
    CREATE OR REPLACE FUNCTION channels_app_member_count_{change}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        changed record;
    BEGIN
        FOR changed IN
            SELECT channel_id, count(*) AS n FROM {rows}_rows GROUP BY channel_id ORDER BY channel_id
        LOOP
            UPDATE channels_app_channel SET member_count = member_count {sign} changed.n
            WHERE id = changed.channel_id;
        END LOOP;
        RETURN NULL;
    END $$
"""

_BEFORE = importlib.import_module("channels_app.migrations.0004_member_count")


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0006_slug_pattern")]

    operations = [
        postgresql_only(
            [
                _PER_CHANNEL.format(change="added", rows="added", sign="+"),
                _PER_CHANNEL.format(change="removed", rows="removed", sign="-"),
            ],
            [
                statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
                for statement in _BEFORE.POSTGRESQL[:2]
            ],
        ),
    ]
