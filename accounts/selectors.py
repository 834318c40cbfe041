"""Reads of users, always scoped to what the actor may see."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import CharField, Q
from django.db.models.expressions import RawSQL

from accounts.models import User, UserQuerySet
from chatplatform.db import values_in
from tenants import rls
from tenants.models import Tenant
from tenants.scoping import Actor


def user_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> UserQuerySet:
    """Users the actor may list, filtered by ``search``, ``role``, ``is_active``, ``tenant``."""
    filters = filters or {}
    queryset = User.objects.for_actor(actor)
    if search := filters.get("search"):
        queryset = queryset.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    if role := filters.get("role"):
        queryset = queryset.filter(role=role)
    if (is_active := filters.get("is_active")) is not None:
        queryset = queryset.filter(is_active=is_active)
    if tenant := filters.get("tenant"):
        queryset = queryset.filter(tenant_id=tenant)
    return queryset.order_by("email")


def users_in_tenant(*, tenant_id: UUID, user_ids: list[UUID]) -> tuple[list[User], list[UUID]]:
    """The users of ``tenant_id`` among ``user_ids``, and the ids that are not (missing or foreign)."""
    found = list(User.objects.for_tenant(tenant_id).filter(pk__in=user_ids))
    found_ids = {u.pk for u in found}
    missing = [uid for uid in dict.fromkeys(user_ids) if uid not in found_ids]
    return found, missing


class UserRow(NamedTuple):
    """What a membership shows of its user: read as a tuple, no model instance."""

    id: UUID
    email: str
    full_name: str
    role: str
    is_active: bool

    @property
    def chat_user_id(self) -> str:
        return str(self.id)


def user_rows_in_tenant(*, tenant_id: UUID, user_ids: list[UUID]) -> tuple[list[UserRow], list[UUID]]:
    """Like :func:`users_in_tenant`, as :class:`UserRow` tuples in the order of
    ``user_ids`` (repeats dropped): for bulk writes that need ids and a few fields."""
    found = {
        row[0]: UserRow(*row)
        for row in values_in(User.objects.for_tenant(tenant_id).order_by(), "id", user_ids, *UserRow._fields)
    }
    ordered = list(dict.fromkeys(user_ids))
    return [found[uid] for uid in ordered if uid in found], [uid for uid in ordered if uid not in found]


def user_with_tenant(*, user_id: UUID, scope: bool = False) -> User | None:
    """The user behind a token, with its tenant: the one query every
    authenticated request makes.

    On PostgreSQL it is a prepared statement, compiled by the ORM once per
    process and planned by the server once per connection: building and
    planning the query cost more than running it. Elsewhere, the ORM.

    With ``scope``, the same statement scopes the connection for the user it
    finds, as ``tenants.rls.scope_for_actor`` would (row-level security is
    PostgreSQL's: nothing to do elsewhere): the request's user and its scope in
    one round trip. It reads the user and the tenant through functions that
    see every row whatever the session was left scoped to (``tenants.rls``,
    "the lookup"), so a connection taken from the pool needs no unscope first.
    Finding nobody, it leaves the session unscoped.
    """
    if connection.vendor != "postgresql":
        return User.objects.select_related("tenant").filter(pk=user_id).first()
    statement = _user_with_tenant_statement(scope)
    if statement.scope:
        rls.before_scoping_statement()
    else:
        connection.ensure_connection()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(_PreparedCursor(connection.connection), connection) as cursor:
        cursor.execute(statement.sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        if statement.scope:
            rls.scoping_statement_found_nothing()
        return None
    if statement.scope:
        rls.record_scope(*(row[i] for i in statement.scope))
    user = User.from_db(DEFAULT_DB_ALIAS, statement.user_fields, [row[i] for i in statement.user_columns])
    if user.tenant_id is not None:
        user.tenant = Tenant.from_db(
            DEFAULT_DB_ALIAS, statement.tenant_fields, [row[i] for i in statement.tenant_columns]
        )
    return user


def _through_lookup_functions(sql: str) -> str:
    """``sql`` reading the user and its tenant through ``rls.LOOKUP_FUNCTIONS``,
    under the names the ORM gave the tables (so its columns read the same)."""
    user, tenant = (connection.ops.quote_name(m._meta.db_table) for m in (User, Tenant))
    user_id, tenant_id = (f"{user}.{connection.ops.quote_name(c)}" for c in ("id", "tenant_id"))
    by_user, by_tenant = (rls.LOOKUP_FUNCTIONS[m._meta.db_table] for m in (User, Tenant))
    rewrites = {
        f" FROM {user} LEFT OUTER JOIN {tenant} ON ": (
            f" FROM {by_user}(%s) AS {user} LEFT OUTER JOIN {by_tenant}({tenant_id}) AS {tenant} ON "
        ),
        f" WHERE {user_id} = %s": "",  # the function found the row by its id
    }
    for old, new in rewrites.items():
        if sql.count(old) != 1:
            raise AssertionError(f"the lookup's SQL changed shape: {old!r} in {sql!r}")
        sql = sql.replace(old, new)
    return sql


class _PreparedCursor(psycopg.Cursor):
    """Parameters bound by the server and the statement prepared on first use
    (Django's own cursors bind on the client, so nothing could be prepared)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> _PreparedCursor:
        return super().execute(query, params, prepare=True)


class _UserStatement(NamedTuple):
    sql: str
    user_fields: list[str]
    user_columns: list[int]
    tenant_fields: list[str]
    tenant_columns: list[int]
    scope: tuple[int, int] | tuple[()]  # the columns of the bypass and tenant it set


@cache
def _user_with_tenant_statement(scope: bool) -> _UserStatement:
    """The ORM's own SQL for ``select_related("tenant").get(pk=...)`` (plus the
    scope's columns, and its tables read through the lookup's functions), and
    where each attribute's column is."""
    queryset = User.objects.select_related("tenant").filter(pk=UUID(int=0)).order_by()
    if scope:
        table = connection.ops.quote_name(User._meta.db_table)
        bypass, tenant = rls.actor_scope_sql(
            tenant=f"{table}.{connection.ops.quote_name('tenant_id')}",
            platform_staff=f"{table}.{connection.ops.quote_name('is_staff')}",  # is_platform_staff
        )
        queryset = queryset.annotate(
            _rls_bypass=RawSQL(bypass, (), output_field=CharField()),  # noqa: S611 (constant SQL)
            _rls_tenant=RawSQL(tenant, (), output_field=CharField()),  # noqa: S611 (constant SQL)
        )
    compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    assert len(params) == 1, "the statement takes the user id only"
    if scope:
        sql = _through_lookup_functions(sql)
    attnames = [
        expression.target.attname if hasattr(expression, "target") else ""
        for expression, _, _ in compiler.select
    ]
    user_columns = list(compiler.klass_info["select_fields"])
    tenant_columns = list(compiler.klass_info["related_klass_infos"][0]["select_fields"])
    return _UserStatement(
        sql=sql,
        user_fields=[attnames[i] for i in user_columns],
        user_columns=user_columns,
        tenant_fields=[attnames[i] for i in tenant_columns],
        tenant_columns=tenant_columns,
        scope=(compiler.annotation_col_map["_rls_bypass"], compiler.annotation_col_map["_rls_tenant"])
        if scope
        else (),
    )
