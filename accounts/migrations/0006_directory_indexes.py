"""Indexes for the directory: the (tenant, email) order lists read, and on
PostgreSQL trigram indexes that let ``search`` (a case-insensitive substring of
the email or the name, ``UPPER(col) LIKE UPPER('%term%')``) find its rows
without reading the whole table. SQLite keeps scanning: it serves small
deployments, where a scan is cheap."""

from django.db import migrations, models

TRIGRAM_INDEXES = {
    "user_email_trgm_idx": "UPPER(email)",
    "user_full_name_trgm_idx": "UPPER(full_name)",
}


def trigram_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {name} ON accounts_user USING gin ({expression} gin_trgm_ops)"
        )


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_names_without_control_characters"),
        ("tenants", "0002_names_without_control_characters"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["tenant", "email"], name="user_tenant_email_idx"),
        ),
        migrations.RunPython(trigram_indexes_create, trigram_indexes_drop),
    ]
