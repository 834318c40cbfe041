"""Row-level security on this app's tenant-owned tables (PostgreSQL; a no-op
elsewhere): see tenants/rls.py and docs/multi-tenancy.md."""

from django.db import migrations

from tenants.rls import tenant_policy


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only"), ("tenants", "0003_row_level_security")]

    operations = [
        tenant_policy("audit_auditevent", "tenant_id = app_rls_tenant()"),
    ]
