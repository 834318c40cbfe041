"""Row-level security: the database's own tenant wall (PostgreSQL).

The scoping base (``tenants.scoping``) is the first wall: every tenant-owned
query filters by the actor's tenant. This is the second: PostgreSQL policies on
the tenant-owned tables show and accept only the rows of the tenant the
connection is scoped to, so a query that forgets the filter inside a tenant
user's request still sees that tenant's rows only.

Two settings of the database session drive the policies:

- ``app.tenant_id``: the tenant of the request's user;
- ``app.bypass_rls``: ``on`` lets every row through.

With neither set, the policies show nothing: a connection that is not the
application's (psql, a reporting tool) sees no tenant's rows unless it asks for
the bypass. The application's connections start with the bypass on (a startup
option of the connection, see ``settings.DATABASES``): migrations, management
commands, the sync worker, the console of platform staff and anonymous
requests (sign-in, refresh, invitation links: lookups by a secret, across
tenants by nature) run as before. A tenant user's request is scoped as soon as
its user is known, by the statement that loads the user
(``accounts.authentication``, :func:`actor_scope_sql`), and unscoped when it
ends (:class:`RowLevelSecurityMiddleware`): the settings are per connection,
and a pooled connection serves many requests.

What each round trip costs: the scope rides on the authentication's own
statement; at the end of a request a connection that does not outlive it
(pooled, or ``CONN_MAX_AGE`` 0) goes back to the pool at once, as it is, or
the session ends; only a persistent connection is unscoped by a statement of
its own. A pooled connection is unscoped when Django next takes it, before
its first statement, in the thread that takes it, unless the taker is the
lookup of a request's user: it reads through ``LOOKUP_FUNCTIONS``, which see
every row whatever the scope, and scopes the session itself, so a tenant
request sends nothing for its scope. Not by the pool's ``reset``,
which would return every connection through the pool's worker thread (about
a sixth of an authenticated request's CPU went to that hop and its wait for
the GIL). The unscope is skipped when this module knows the session is unscoped
already (a mark on the driver's connection), so anonymous and staff requests
send nothing for the scope at all. Scope a session only through this module,
or the mark cannot know.

Why session settings and not ``SET LOCAL``: requests do not run in one
transaction (the sign-in counter and the audit of a refused action must
survive the request's error), and ``SET LOCAL`` lasts one transaction only.

Why ``FORCE ROW LEVEL SECURITY``: the application connects as the role that
owns the tables (it runs the migrations), and policies skip a table's owner
unless forced. Superusers and ``BYPASSRLS`` roles skip them whatever is
forced: ``check --deploy --database default`` warns about such a role.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import connections, migrations
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from chatplatform.request_log import loaded_user

logger = logging.getLogger("tenants.rls")

TENANT_SETTING = "app.tenant_id"
BYPASS_SETTING = "app.bypass_rls"
# The connection option that turns the bypass on for every session the application opens.
BYPASS_STARTUP_OPTION = f"-c {BYPASS_SETTING}=on"

# Policies call these (inlined by the planner: one-expression SQL functions).
FUNCTIONS = [
    f"""
    CREATE OR REPLACE FUNCTION app_rls_bypass() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE AS
    $$ SELECT coalesce(current_setting('{BYPASS_SETTING}', true), '') = 'on' $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION app_rls_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE AS
    $$ SELECT nullif(current_setting('{TENANT_SETTING}', true), '')::uuid $$
    """,
]
FUNCTIONS_REVERSE = ["DROP FUNCTION app_rls_bypass()", "DROP FUNCTION app_rls_tenant()"]

POLICY_NAME = "tenant_isolation"

# The lookup of a request's user reads these tables through these functions
# (accounts migration 0009): each returns the row of one id, read with the
# bypass on for the call's own duration, whatever the session is scoped to.
LOOKUP_FUNCTIONS = {"accounts_user": "app_rls_request_user", "tenants_tenant": "app_rls_request_tenant"}

_SCOPE_SQL = f"SELECT set_config('{BYPASS_SETTING}', %s, false), set_config('{TENANT_SETTING}', %s, false)"
_UNSCOPED = ("on", "")
# On the driver's connection (it is what the pool holds): True when its session
# may be scoped, False when it is known not to be; absent, a session that
# nothing has scoped yet (this module sets it before any scoping statement).
_SCOPED_MARK = "_app_rls_scoped"


def tenant_policy(table: str, condition: str, *, also_writes: str = "") -> migrations.RunPython:
    """A migration operation: row-level security on ``table`` (PostgreSQL only,
    a no-op elsewhere). ``condition`` is the SQL that holds for a row of the
    scoped tenant, written with ``app_rls_tenant()``; it applies to reads and
    writes alike (``USING`` and ``WITH CHECK``), and the bypass lets every row
    through. ``also_writes`` names rows a scoped request may write but not read."""
    expression = f"app_rls_bypass() OR ({condition})"
    check = f"{expression} OR ({also_writes})" if also_writes else expression
    forward = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({expression}) WITH CHECK ({check})",
    ]
    reverse = [
        f"DROP POLICY {POLICY_NAME} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
    return postgresql_only(forward, reverse)


def postgresql_only(forward: list[str], reverse: list[str]) -> migrations.RunPython:
    def run(statements: list[str]) -> Any:
        def apply(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            for statement in statements:
                schema_editor.execute(statement)

        return apply

    return migrations.RunPython(run(forward), run(reverse))


def _enforced(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql"


def _set(connection: BaseDatabaseWrapper, bypass: str, tenant: str) -> None:
    # On the driver's connection, like the time zone and role Django gives a
    # connection: it is the session's state, not a query of the request.
    connection.ensure_connection()
    raw = connection.connection
    if (bypass, tenant) != _UNSCOPED:
        setattr(raw, _SCOPED_MARK, True)  # before: a statement that fails half-way may have scoped it
    with connection.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(_SCOPE_SQL, (bypass, tenant))
    if (bypass, tenant) == _UNSCOPED:
        _mark_unscoped(raw)


def _mark_unscoped(raw: Any) -> None:
    # Only outside a transaction: a rollback would bring back a scope set before it.
    if raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        setattr(raw, _SCOPED_MARK, False)


def scope_to_tenant(tenant_id: UUID | None, using: str = "default") -> None:
    """Scope the connection to one tenant's rows for the rest of the request
    (``None``: to no tenant's rows)."""
    connection = connections[using]
    if not _enforced(connection):
        return
    connection.rls_tenant = "" if tenant_id is None else str(tenant_id)  # type: ignore[attr-defined]
    _set(connection, "off", connection.rls_tenant)  # type: ignore[attr-defined]


def scoped_tenant(using: str = "default") -> str | None:
    """The tenant the connection is scoped to ("" for none), or None when unscoped."""
    return getattr(connections[using], "rls_tenant", None)


def unscope(using: str = "default") -> None:
    """Back to the application's default: every row (the bypass)."""
    connection = connections[using]
    if getattr(connection, "rls_tenant", None) is None:
        return
    connection.rls_tenant = None  # type: ignore[attr-defined]
    if connection.connection is not None:
        _set(connection, *_UNSCOPED)


def scope_for_actor(actor: Any, request: Any = None) -> None:
    """What a request of ``actor`` may see: its tenant's rows; platform staff
    every tenant's, which is recorded in the log once per request.

    No round trip when the connection is scoped so already: the lookup of the
    request's user scopes it in its own statement (:func:`actor_scope_sql`),
    and this is the rule that statement follows, checked here at no cost."""
    connection = connections["default"]
    if actor.is_platform_staff:
        _log_bypass(actor, request)
        wanted = None
    else:
        wanted = "" if actor.tenant_id is None else str(actor.tenant_id)
    if not _enforced(connection) or getattr(connection, "rls_tenant", None) == wanted:
        return
    if wanted is None:
        unscope()
    else:
        scope_to_tenant(actor.tenant_id)


def actor_scope_sql(*, tenant: str, platform_staff: str) -> tuple[str, str]:
    """Two columns for the statement that loads a request's user: evaluated for
    the row it finds, they scope the session as :func:`scope_for_actor` does
    (``tenant`` and ``platform_staff`` are the SQL of the row's tenant id and of
    its staff flag), so the lookup and the scope are one round trip. The row is
    read before they run, while the connection still has the bypass: the lookup
    sees every tenant, and finding nobody changes nothing. Call
    :func:`before_scoping_statement` before running it, and pass what the
    columns return to :func:`record_scope`."""
    return (
        f"set_config('{BYPASS_SETTING}', CASE WHEN {platform_staff} THEN 'on' ELSE 'off' END, false)",
        f"set_config('{TENANT_SETTING}', CASE WHEN {platform_staff} THEN '' "
        f"ELSE coalesce(({tenant})::text, '') END, false)",
    )


def before_scoping_statement(using: str = "default") -> None:
    """Take the connection for a statement that scopes the session itself
    (:func:`actor_scope_sql`) and reads only through ``LOOKUP_FUNCTIONS``:
    one taken from the pool now is not unscoped first, since that statement
    sees the same rows whatever the session's scope. The session may be
    scoped from here on, whatever becomes of the statement's answer: the next
    checkout will not take it for unscoped. Finding nothing, call
    :func:`scoping_statement_found_nothing`."""
    connection = connections[using]
    connection.rls_scoping_next = True  # type: ignore[attr-defined]
    try:
        connection.ensure_connection()
    finally:
        connection.rls_scoping_next = False  # type: ignore[attr-defined]
    setattr(connection.connection, _SCOPED_MARK, True)


def scoping_statement_found_nothing(using: str = "default") -> None:
    """The scoping statement returned no row, so it set nothing: the session is
    as its last request left it, maybe scoped. Unscoped now, for the rest of
    a request that goes on as an anonymous one."""
    connection = connections[using]
    if getattr(connection, "rls_tenant", None) is None:
        _set(connection, *_UNSCOPED)


def record_scope(bypass: str, tenant: str, using: str = "default") -> None:
    """Keep the books in step with a statement that scoped the session itself
    (:func:`actor_scope_sql`): ``bypass`` and ``tenant`` are what it set."""
    connection = connections[using]
    connection.rls_tenant = None if bypass == "on" else tenant  # type: ignore[attr-defined]
    if (bypass, tenant) == _UNSCOPED:
        _mark_unscoped(connection.connection)
    else:
        setattr(connection.connection, _SCOPED_MARK, True)


@contextmanager
def bypass(using: str = "default") -> Iterator[None]:
    """Every tenant's rows inside a scoped request, for a lookup that is
    cross-tenant by design. Say why where you use it."""
    connection = connections[using]
    tenant = getattr(connection, "rls_tenant", None)
    if tenant is None or not _enforced(connection):
        yield
        return
    _set(connection, *_UNSCOPED)
    try:
        yield
    finally:
        _set(connection, "off", tenant)


def _log_bypass(actor: Any, request: Any) -> None:
    django_request = getattr(request, "_request", request)
    if django_request is None or getattr(django_request, "_rls_bypass_logged", False):
        return
    django_request._rls_bypass_logged = True
    logger.info(
        "row-level security bypassed for platform staff: user %s, request %s, %s %s",
        actor.pk,
        getattr(django_request, "request_id", ""),
        django_request.method,
        django_request.path,
        extra={
            "user_id": str(actor.pk),
            "request_id": getattr(django_request, "request_id", ""),
            "method": django_request.method,
            "path": django_request.path,
        },
    )


@receiver(connection_created)
def _scope_taken_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """A connection Django has just taken (from the pool, or opened), before
    its first statement: unscoped, whatever the request that used it last
    did. Nothing is sent for one known to be unscoped (anonymous and staff
    requests, the worker) nor for a new session, which the bypass option
    starts unscoped. A connection replaced in the middle of a scoped request
    (the old one broke) gets the request's scope again instead."""
    if not _enforced(connection):
        return
    tenant = getattr(connection, "rls_tenant", None)
    raw = connection.connection
    if tenant is not None:
        _set(connection, "off", tenant)
    elif not hasattr(raw, _SCOPED_MARK):  # a new session: nothing has scoped it
        _mark_unscoped(raw)
    elif getattr(raw, _SCOPED_MARK) is not False and not getattr(connection, "rls_scoping_next", False):
        _set(connection, *_UNSCOPED)


def known_unscoped(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection``'s session is known to be unscoped: never scoped
    since it was last unscoped. One that may be scoped must go back to the
    pool (whoever takes it next unscopes it) before anything else uses it."""
    raw = connection.connection
    return raw is not None and getattr(raw, _SCOPED_MARK, None) is False


def end_request_scope(using: str = "default") -> None:
    """How a request's scope ends. A connection that does not outlive the
    request (pooled, or ``CONN_MAX_AGE`` 0) goes back now rather than at
    ``request_finished``: whoever takes it from the pool next unscopes it
    first (or the session ends with it), so no statement is sent here.
    A persistent connection, or one inside a transaction (a test's), is
    unscoped where it stands. The mark counts as much as the books: a session
    a statement may have scoped behind their back ends unscoped too."""
    connection = connections[using]
    raw = connection.connection
    if getattr(connection, "rls_tenant", None) is None and getattr(raw, _SCOPED_MARK, None) is not True:
        return
    connection.rls_tenant = None  # type: ignore[attr-defined]
    if raw is None:
        return
    if connection.settings_dict["CONN_MAX_AGE"] == 0 and not connection.in_atomic_block:
        connection.close()
    else:
        _set(connection, *_UNSCOPED)


class RowLevelSecurityMiddleware:
    """End the request's scope of the connection when the request ends (see
    :func:`end_request_scope`), and record a session-authenticated staff
    request (the console) as a bypass."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        except BaseException:
            end_request_scope()
            raise
        # Only a user the request has loaded already: no lookup for the log.
        user = loaded_user(request)
        if user is not None and getattr(user, "is_platform_staff", False):
            _log_bypass(user, request)
        if response.streaming:
            # Its content is read (and may query) after this returns.
            response._resource_closers.append(end_request_scope)
        else:
            end_request_scope()
        return response


@register(Tags.database, deploy=True)
def rls_enforced_check(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        if not _enforced(connection):
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        if row and row[0]:
            messages.append(
                CheckWarning(
                    "The database role bypasses row-level security: the tenant policies are not enforced.",
                    hint="Connect as a role without SUPERUSER and BYPASSRLS that owns the tables "
                    "(or name one in DATABASE_ROLE). See docs/multi-tenancy.md.",
                    obj=alias,
                    id="tenants.W001",
                )
            )
    return messages
