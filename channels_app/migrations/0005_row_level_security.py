"""Row-level security on this app's tenant-owned tables (PostgreSQL; a no-op
elsewhere): see tenants/rls.py and docs/multi-tenancy.md."""

from django.db import migrations

from tenants.rls import tenant_policy


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0004_member_count"), ("tenants", "0003_row_level_security")]

    operations = [
        tenant_policy("channels_app_channel", "tenant_id = app_rls_tenant()"),
        # A membership belongs to the tenant of its channel.
        tenant_policy(
            "channels_app_membership",
            "EXISTS (SELECT 1 FROM channels_app_channel AS c "
            "WHERE c.id = channels_app_membership.channel_id AND c.tenant_id = app_rls_tenant())",
        ),
    ]
