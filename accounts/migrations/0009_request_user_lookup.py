"""The lookup of a request's user reads through two functions that see every
row whatever the session is scoped to (PostgreSQL; a no-op elsewhere).

A pooled connection comes back as the last request left it, scoped to that
request's tenant. The lookup must find a user of any tenant, so it used to
follow an unscope of its own: a round trip per request, as costly as the
lookup. Through these functions it reads with the bypass on for their own
duration, then scopes the session in the same statement
(``tenants.rls.actor_scope_sql``).
They find one row by its primary key and nothing else; see
docs/multi-tenancy.md.
"""

from django.db import migrations

from tenants.rls import BYPASS_SETTING, postgresql_only

# The bypass is set and put back inside the call rather than by a SET clause
# of the function, which PostgreSQL allows for a custom setting only to
# superusers or a role granted SET on it. Should the read fail, the statement
# fails with it and its transaction's rollback restores the setting.
_BY_ID = """
    CREATE FUNCTION {name}(row_id uuid) RETURNS SETOF {table}
    LANGUAGE plpgsql VOLATILE ROWS 1 AS $$
    DECLARE
        before text := coalesce(current_setting('{bypass}', true), '');
    BEGIN
        PERFORM set_config('{bypass}', 'on', false);
        RETURN QUERY SELECT * FROM {table} WHERE id = row_id;
        PERFORM set_config('{bypass}', before, false);
    END $$
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_row_level_security"), ("tenants", "0005_calls_enabled")]

    operations = [
        postgresql_only(
            [
                _BY_ID.format(name="app_rls_request_user", table="accounts_user", bypass=BYPASS_SETTING),
                _BY_ID.format(name="app_rls_request_tenant", table="tenants_tenant", bypass=BYPASS_SETTING),
            ],
            ["DROP FUNCTION app_rls_request_user(uuid)", "DROP FUNCTION app_rls_request_tenant(uuid)"],
        ),
    ]
