"""Row-level security on this app's tenant-owned tables (PostgreSQL; a no-op
elsewhere): see tenants/rls.py and docs/multi-tenancy.md."""

from django.db import migrations

from tenants.rls import tenant_policy


class Migration(migrations.Migration):
    dependencies = [("streamsync", "0004_outbox_entries_label"), ("tenants", "0003_row_level_security")]

    operations = [
        # A membership removed by a cascade is queued without its tenant (the
        # channel may be gone): a request may queue such a row, not read it.
        tenant_policy(
            "streamsync_outboxentry", "tenant_id = app_rls_tenant()", also_writes="tenant_id IS NULL"
        ),
        tenant_policy("streamsync_syncstate", "tenant_id = app_rls_tenant()"),
    ]
