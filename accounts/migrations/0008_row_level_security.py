"""Row-level security on this app's tenant-owned tables (PostgreSQL; a no-op
elsewhere): see tenants/rls.py and docs/multi-tenancy.md."""

from django.db import migrations

from tenants.rls import tenant_policy


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_sign_in_counter"), ("tenants", "0003_row_level_security")]

    operations = [
        tenant_policy("accounts_user", "tenant_id = app_rls_tenant()"),
    ]
