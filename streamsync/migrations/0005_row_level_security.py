"""Row-level security on this app's tenant-owned tables (PostgreSQL; a no-op
elsewhere): see tenants/rls.py and docs/multi-tenancy.md."""

from django.db import migrations

from tenants.rls import tenant_policy


class Migration(migrations.Migration):
    dependencies = [("streamsync", "0004_outbox_entries_label"), ("tenants", "0003_row_level_security")]

    operations = [
        tenant_policy("streamsync_outboxentry", "tenant_id = app_rls_tenant()"),
        tenant_policy("streamsync_syncstate", "tenant_id = app_rls_tenant()"),
    ]
