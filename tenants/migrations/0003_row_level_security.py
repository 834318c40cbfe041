"""Row-level security: the functions every tenant policy calls, and the policy
on the tenant table itself (PostgreSQL; a no-op elsewhere). See tenants/rls.py
and docs/multi-tenancy.md."""

from django.db import migrations

from tenants.rls import FUNCTIONS, FUNCTIONS_REVERSE, postgresql_only, tenant_policy


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_names_without_control_characters")]

    operations = [
        postgresql_only(FUNCTIONS, FUNCTIONS_REVERSE),
        tenant_policy("tenants_tenant", "id = app_rls_tenant()"),
    ]
