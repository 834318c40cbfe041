"""On PostgreSQL the database itself refuses to change or delete audit events.

(TRUNCATE, which test runs use to reset tables, is a different statement and
stays possible for the table owner. On SQLite, the development default, the
model and its queryset refuse instead.)"""

from django.db import migrations

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update ON audit_auditevent;",
    "DROP FUNCTION IF EXISTS audit_event_append_only();",
]
def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL}),
            _run({"postgresql": POSTGRESQL_REVERSE}),
        )
    ]
