"""``Channel.member_count``, kept by triggers on the membership table.

Counting members per listed row cost a scan of each channel's memberships on
every list; a counter kept where the rows change costs one update per
statement. Triggers see every write, whoever makes it: the services, bulk
imports (``COPY`` included), cascading deletes, the console.

PostgreSQL: statement-level triggers with transition tables, one ``UPDATE``
per statement however many rows it wrote. SQLite has no statement triggers:
one ``UPDATE`` per row.
"""

from django.conf import settings
from django.db import migrations, models

POSTGRESQL = [
    """
    CREATE FUNCTION channels_app_member_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE channels_app_channel AS c SET member_count = c.member_count + n.added
        FROM (SELECT channel_id, count(*) AS added FROM added_rows GROUP BY channel_id) AS n
        WHERE c.id = n.channel_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION channels_app_member_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE channels_app_channel AS c SET member_count = c.member_count - n.removed
        FROM (SELECT channel_id, count(*) AS removed FROM removed_rows GROUP BY channel_id) AS n
        WHERE c.id = n.channel_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER channels_app_membership_added AFTER INSERT ON channels_app_membership
    REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT
    EXECUTE FUNCTION channels_app_member_count_added()
    """,
    """
    CREATE TRIGGER channels_app_membership_removed AFTER DELETE ON channels_app_membership
    REFERENCING OLD TABLE AS removed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION channels_app_member_count_removed()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER channels_app_membership_added ON channels_app_membership",
    "DROP TRIGGER channels_app_membership_removed ON channels_app_membership",
    "DROP FUNCTION channels_app_member_count_added()",
    "DROP FUNCTION channels_app_member_count_removed()",
]
SQLITE = [
    """
    CREATE TRIGGER channels_app_membership_added AFTER INSERT ON channels_app_membership
    BEGIN
        UPDATE channels_app_channel SET member_count = member_count + 1 WHERE id = NEW.channel_id;
    END
    """,
    """
    CREATE TRIGGER channels_app_membership_removed AFTER DELETE ON channels_app_membership
    BEGIN
        UPDATE channels_app_channel SET member_count = member_count - 1 WHERE id = OLD.channel_id;
    END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER channels_app_membership_added",
    "DROP TRIGGER channels_app_membership_removed",
]
BACKFILL = """
    UPDATE channels_app_channel SET member_count = (
        SELECT count(*) FROM channels_app_membership AS m WHERE m.channel_id = channels_app_channel.id
    )
"""


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"member_count triggers are written for PostgreSQL and SQLite, not {vendor}")
    _run(schema_editor, POSTGRESQL if vendor == "postgresql" else SQLITE)
    schema_editor.execute(BACKFILL)


def triggers_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, POSTGRESQL_REVERSE if vendor == "postgresql" else SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_names_without_control_characters"),
        ("tenants", "0002_names_without_control_characters"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="member_count",
            field=models.PositiveIntegerField(
                default=0,
                db_default=0,
                editable=False,
                help_text="Kept by the database: triggers on the membership table count every insert "
                "and delete, whoever makes it (services, imports, cascades, the console).",
            ),
        ),
        migrations.AddIndex(
            model_name="channel",
            index=models.Index(fields=["tenant", "name", "id"], name="channel_tenant_name_idx"),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
