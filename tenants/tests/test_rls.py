"""Row-level security: the database's tenant wall holds where the code forgets.

PostgreSQL only, and only as a role the policies apply to (not a superuser,
not BYPASSRLS: set DATABASE_ROLE). CI sets REQUIRE_RLS=1, so a run where the
policies cannot be checked fails instead of skipping.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from psycopg_pool import ConnectionPool
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import CookieJWTAuthentication
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import AuditEvent
from channels_app.models import Channel, Membership
from channels_app.tests.factories import ChannelFactory
from conftest import World, bearer_client
from onboarding.models import Invitation
from streamsync.models import OutboxEntry, SyncState
from tenants import rls
from tenants.models import Tenant
from tenants.scoping import TenantScopedQuerySet

# Tenant-owned tables whose tenant is not a column of their own.
OWNED_THROUGH_A_PARENT = {Membership}
# Tables with a tenant column that hold no tenant's data.
NOT_TENANT_OWNED: set[type] = set()


def _skip_reason() -> str | None:
    if connection.vendor != "postgresql":
        return "row-level security is PostgreSQL's; this database is " + connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        (exempt,) = cursor.fetchone()
    if exempt:
        return (
            "the database role bypasses row-level security (superuser or BYPASSRLS): "
            "set DATABASE_ROLE to a role without either that owns the tables"
        )
    return None


@pytest.fixture(autouse=True)
def _policies_apply(db):
    if reason := _skip_reason():
        assert not os.environ.get("REQUIRE_RLS"), reason
        pytest.skip(reason)


def _tenant_rows(tenant: Tenant, creator: User) -> None:
    """A row of every tenant-owned table the world does not fill."""
    Invitation.objects.create(
        tenant=tenant,
        email=f"invitee@{tenant.slug}.test",
        token_hash=uuid.uuid4().hex,
        expires_at=timezone.now() + timedelta(days=1),
        invited_by=creator,
    )
    AuditEvent.objects.create(tenant_id=tenant.pk, action="test.event", target_type="test")
    OutboxEntry.objects.create(
        entity_type="channel", entity_id=uuid.uuid4().hex, tenant_id=tenant.pk, next_attempt_at=timezone.now()
    )
    SyncState.objects.create(
        entity_type="channel", entity_id=uuid.uuid4().hex, tenant_id=tenant.pk, synced_at=timezone.now()
    )


@pytest.fixture
def full_world(world: World) -> World:
    _tenant_rows(world.tenant_a, world.admin)
    _tenant_rows(world.tenant_b, world.outsider)
    return world


def _tenant_models() -> list[type]:
    found = []
    for model in apps.get_models():
        queryset = model._default_manager.get_queryset()
        has_tenant_column = any(f.name in ("tenant", "tenant_id") for f in model._meta.concrete_fields)
        if isinstance(queryset, TenantScopedQuerySet) or has_tenant_column or model in OWNED_THROUGH_A_PARENT:
            found.append(model)
    return [model for model in found if model not in NOT_TENANT_OWNED]


def test_every_tenant_owned_table_has_its_policy_forced(db):
    tables = sorted(model._meta.db_table for model in _tenant_models())
    assert {"tenants_tenant", "accounts_user", "channels_app_membership"} <= set(tables)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)
            FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind = 'r' ORDER BY c.relname
            """,
            [rls.POLICY_NAME, tables],
        )
        rows = cursor.fetchall()
    assert rows == [(table, True, True, True) for table in tables]


@pytest.mark.urls("tenants.tests.rls_urls")
@pytest.mark.parametrize("who", ["admin", "member"])
def test_an_unscoped_query_in_a_tenant_request_sees_only_that_tenant(full_world, who):
    user = getattr(full_world, who)
    response = bearer_client(user).get("/test-rls/tables")
    assert response.status_code == 200
    own = [str(full_world.tenant_a.pk)]
    assert response.json() == {
        "tenant": own,
        "user": own,
        "channel": own,
        "membership": own,
        "invitation": own,
        "audit_event": own,
        "outbox_entry": own,
        "sync_state": own,
    }


@pytest.mark.urls("tenants.tests.rls_urls")
def test_the_other_tenant_sees_only_its_own_rows(full_world):
    response = bearer_client(full_world.outsider).get("/test-rls/tables")
    assert set(map(tuple, response.json().values())) == {(str(full_world.tenant_b.pk),)}


@pytest.mark.urls("tenants.tests.rls_urls")
def test_platform_staff_see_every_tenant_and_the_bypass_is_logged(full_world, caplog):
    with caplog.at_level(logging.INFO, logger="tenants.rls"):
        response = bearer_client(full_world.staff).get("/test-rls/tables")
    both = sorted([str(full_world.tenant_a.pk), str(full_world.tenant_b.pk)])
    assert set(map(tuple, response.json().values())) == {tuple(both)}
    records = [r for r in caplog.records if r.name == "tenants.rls"]
    assert len(records) == 1
    assert records[0].user_id == str(full_world.staff.pk)
    assert records[0].path == "/test-rls/tables"
    assert records[0].request_id == response["X-Request-ID"]


@pytest.mark.urls("tenants.tests.rls_urls")
def test_a_tenant_request_logs_no_bypass(full_world, caplog):
    with caplog.at_level(logging.INFO, logger="tenants.rls"):
        bearer_client(full_world.member).get("/test-rls/tables")
    assert [r for r in caplog.records if r.name == "tenants.rls"] == []


@pytest.mark.urls("tenants.tests.rls_urls")
def test_a_view_that_forgets_the_scoping_base_leaks_nothing(world):
    client = bearer_client(world.member)
    listed = client.get("/test-rls/forgetful-channels/")
    assert {row["tenant"] for row in listed.json()} == {str(world.tenant_a.pk)}
    foreign = client.get(f"/test-rls/forgetful-channels/{world.foreign_channel.pk}/")
    assert foreign.status_code == 404
    own = client.get(f"/test-rls/forgetful-channels/{world.public_channel.pk}/")
    assert own.status_code == 200


@pytest.mark.urls("tenants.tests.rls_urls")
def test_writes_by_id_cannot_reach_another_tenants_rows(world):
    response = bearer_client(world.member).post(
        "/test-rls/tables", {"channel": str(world.foreign_channel.pk)}, format="json"
    )
    assert response.json() == {"renamed": 0, "deleted": 0}
    world.foreign_channel.refresh_from_db()
    assert world.foreign_channel.name != "renamed"
    assert world.foreign_channel.memberships.count() == 1


def test_a_scoped_connection_cannot_write_a_row_into_another_tenant(world):
    rls.scope_to_tenant(world.tenant_a.pk)
    try:
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Channel.objects.create(tenant_id=world.tenant_b.pk, slug="planted", name="Planted")
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Membership.objects.create(channel_id=world.foreign_channel.pk, user_id=world.member.pk)
        # Its own tenant's rows it writes as usual (the member count trigger included).
        channel = ChannelFactory(tenant=world.tenant_a, slug="fine", members=[world.member])
        channel.refresh_from_db()
        assert channel.member_count == 1
    finally:
        rls.unscope()
    assert not Channel.objects.filter(slug="planted").exists()


def test_a_user_without_tenant_or_staff_sees_no_tenants_rows(world):
    rls.scope_to_tenant(None)
    try:
        assert (User.objects.count(), Channel.objects.count(), Tenant.objects.count()) == (0, 0, 0)
    finally:
        rls.unscope()


@pytest.mark.urls("tenants.tests.rls_urls")
def test_the_scope_ends_with_the_request(world):
    everyone = User.objects.count()
    bearer_client(world.member).get("/test-rls/tables")
    # The same connection, after the request: the test (like a worker) sees every tenant again.
    assert rls.scoped_tenant() is None
    assert User.objects.count() == everyone
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.bypass_rls'), current_setting('app.tenant_id')")
        assert cursor.fetchone() == ("on", "")
    # And the next request is scoped to its own user's tenant, not the previous one's.
    response = bearer_client(world.outsider).get("/test-rls/tables")
    assert response.json()["user"] == [str(world.tenant_b.pk)]


@pytest.mark.urls("tenants.tests.rls_urls")
def test_the_scope_ends_when_the_view_fails(world, monkeypatch):
    from tenants.tests import rls_urls

    def broken(request):
        raise RuntimeError("the view broke")

    monkeypatch.setattr(rls_urls.UnscopedTablesView, "get", lambda self, request: broken(request))
    client = bearer_client(world.member)
    client.raise_request_exception = False
    assert client.get("/test-rls/tables").status_code == 500
    assert rls.scoped_tenant() is None
    assert Tenant.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_connection_replaced_mid_request_keeps_the_scope(world):
    rls.scope_to_tenant(world.tenant_a.pk)
    try:
        # What happens when a connection breaks: it goes, the next query opens another.
        connection.close()
        assert list(Tenant.objects.values_list("pk", flat=True)) == [world.tenant_a.pk]
    finally:
        rls.unscope()
    assert Tenant.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_connection_taken_from_the_pool_is_unscoped_before_its_first_statement(world):
    # Given back at once, as it is: no reset sends it through the pool's worker thread.
    assert getattr(connection.pool, "_reset", None) is None
    with _one_connection_pool() as pool:
        rls.scope_to_tenant(world.tenant_a.pk)
        backend = connection.connection.info.backend_pid
        assert Tenant.objects.count() == 1
        connection.rls_tenant = None  # type: ignore[attr-defined]  # the books of a request that ended
        connection.close()  # back to the pool, still scoped
        with pool.connection() as conn:  # not Django's: nothing unscoped it yet
            assert _session_scope(conn) == ("off", str(world.tenant_a.pk))
        assert Tenant.objects.count() == 2  # Django took it again, and unscoped it first
        assert connection.connection.info.backend_pid == backend


@pytest.mark.django_db(transaction=True)
def test_a_session_without_the_applications_bypass_sees_nothing(world):
    params = {**connection.get_connection_params(), "autocommit": True}
    params["options"] = params["options"].replace(rls.BYPASS_STARTUP_OPTION, "")
    with psycopg.connect(**params) as conn:
        for table in ("tenants_tenant", "accounts_user", "channels_app_channel", "channels_app_membership"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)  # noqa: S608
        conn.execute("SET app.bypass_rls = on")
        assert conn.execute("SELECT count(*) FROM tenants_tenant").fetchone() == (2,)


def test_a_bypass_inside_a_scoped_request_sees_every_tenant_then_scopes_again(world):
    rls.scope_to_tenant(world.tenant_a.pk)
    try:
        with rls.bypass():
            assert Tenant.objects.count() == 2
        assert list(Tenant.objects.values_list("pk", flat=True)) == [world.tenant_a.pk]
    finally:
        rls.unscope()


def test_a_staff_console_request_is_logged_as_a_bypass(staff_client, world, caplog):
    with caplog.at_level(logging.INFO, logger="tenants.rls"):
        response = staff_client.get("/admin/channels_app/channel/")
    assert response.status_code == 200
    # The console lists every tenant's channels.
    assert world.foreign_channel.name in response.content.decode()
    records = [r for r in caplog.records if r.name == "tenants.rls"]
    assert [r.user_id for r in records] == [str(world.staff.pk)]
    assert str(world.staff.pk) in records[0].getMessage()


def test_the_deploy_check_warns_about_a_role_that_skips_the_policies(db):
    assert rls.rls_enforced_check(None, databases=["default"]) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user, rolsuper FROM pg_roles WHERE rolname = session_user")
        login, superuser = cursor.fetchone()
        if not superuser:
            pytest.skip("the login role is the owner itself: no superuser to compare with")
        # Until the test's transaction ends: the session as its (superuser) login role.
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(login)}")
    assert [message.id for message in rls.rls_enforced_check(None, databases=["default"])] == ["tenants.W001"]


@contextmanager
def _one_connection_pool() -> Iterator[ConnectionPool]:
    """Django's pool, swapped for one of a single connection: every checkout is
    the connection the previous request gave back."""
    options = settings.DATABASES["default"]["OPTIONS"]
    if "pool" not in options:
        pytest.skip("the database pool is off (DATABASE_POOL=0)")
    connection.close()
    pools = connection._connection_pools  # type: ignore[attr-defined]
    saved = pools["default"]
    pool = ConnectionPool(
        kwargs={**connection.get_connection_params(), "autocommit": True},
        min_size=1,
        max_size=1,
        configure=connection._configure_connection,  # type: ignore[attr-defined]
        open=True,
    )
    pools["default"] = pool
    try:
        yield pool
    finally:
        connection.close()
        pools["default"] = saved
        pool.close()


def _session_scope(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute(
        "SELECT current_setting('app.bypass_rls'), current_setting('app.tenant_id')"
    ).fetchone()
    assert row is not None
    return row


@contextmanager
def _round_trips(pool: ConnectionPool) -> Iterator[list[int]]:
    """Count the round trips to the server on the pool's one connection (the
    driver's, libpq's trace: each ends with the server's ReadyForQuery), from
    the moment Django takes it to the moment it is given back."""
    connection.close()
    raw = pool.getconn()
    pool.putconn(raw)
    counted: list[int] = []
    with tempfile.TemporaryFile() as trace:
        raw.pgconn.trace(trace.fileno())
        raw.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield counted
            connection.close()
        finally:
            raw.pgconn.untrace()
        trace.seek(0)
        counted.append(sum(1 for line in trace.read().decode().splitlines() if "\tReadyForQuery" in line))


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tenants.tests.rls_urls")
@pytest.mark.parametrize("previous", ["member", "outsider", "staff"])
def test_a_tenant_request_is_scoped_by_its_lookup_alone_whoever_came_before(world, previous):
    """The lookup of the request's user reads every tenant's users whatever
    the session was left scoped to, and scopes it itself: one round trip."""
    with _one_connection_pool() as pool:
        client = bearer_client(world.member)
        assert client.get("/api/auth/me").status_code == 200  # prepares the lookup on this connection
        assert bearer_client(getattr(world, previous)).get("/api/auth/me").status_code == 200
        queries: list[str] = []
        # Not CaptureQueriesContext: it takes the connection before the request does.
        with (
            _round_trips(pool) as trips,
            connection.execute_wrapper(lambda run, sql, *a: queries.append(sql) or run(sql, *a)),
        ):
            response = client.get("/api/auth/me")
        assert response.status_code == 200
        assert (response.json()["id"], response.json()["tenant"]) == (
            str(world.member.pk),
            str(world.tenant_a.pk),
        )
        assert len(queries) == 1
        assert trips == [1]
        with pool.connection() as conn:  # given back as it is
            assert _session_scope(conn) == ("off", str(world.tenant_a.pk))
        assert Tenant.objects.count() == 2  # whoever takes it next sees every tenant
        assert bearer_client(getattr(world, previous)).get("/api/auth/me").status_code == 200
        seen = client.get("/test-rls/tables").json()  # after the other request, on its connection
        assert all(tenants in ([], [str(world.tenant_a.pk)]) for tenants in seen.values()), seen
        assert seen["user"] == seen["tenant"] == [str(world.tenant_a.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_lookup_that_finds_nobody_leaves_the_session_unscoped(world):
    with _one_connection_pool() as pool:
        assert bearer_client(world.member).get("/api/auth/me").status_code == 200  # scoped to tenant A
        gone = UserFactory(tenant=world.tenant_b)
        token = RefreshToken.for_user(gone).access_token
        gone.delete()
        connection.close()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/api/auth/me").status_code == 401
        assert rls.scoped_tenant() is None
        assert Tenant.objects.count() == 2  # the rest of that request sees what an anonymous one does
        connection.close()
        with pool.connection() as conn:
            assert _session_scope(conn) == ("on", "")


@pytest.mark.django_db(transaction=True)
def test_a_new_session_sends_nothing_for_the_scope(world):
    with _one_connection_pool() as pool:
        with _round_trips(pool) as trips:
            assert Tenant.objects.count() == 2  # the bypass option started it unscoped
        assert trips == [1]


@pytest.mark.django_db(transaction=True)
def test_a_staff_request_sends_nothing_for_the_scope(world):
    with _one_connection_pool() as pool:
        client = bearer_client(world.staff)
        assert client.get("/api/auth/me").status_code == 200
        with _round_trips(pool) as trips:
            assert client.get("/api/auth/me").status_code == 200
        assert trips == [1]  # the lookup only: the session is known to be unscoped


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tenants.tests.rls_urls")
@pytest.mark.parametrize("failure", ["view", "inactive", "password_changed", "csrf", "lost_answer"])
def test_a_request_that_fails_after_scoping_leaks_no_scope_to_the_next(world, failure, monkeypatch):
    from tenants.tests import rls_urls

    with _one_connection_pool() as pool:
        client = bearer_client(world.member)
        client.raise_request_exception = False
        connection.close()  # the pool's one connection, which the token's issue checked out
        with pool.connection() as conn:
            backend = conn.info.backend_pid
        if failure == "view":
            monkeypatch.setattr(
                rls_urls.UnscopedTablesView,
                "get",
                lambda self, request: (_ for _ in ()).throw(RuntimeError()),
            )
            assert client.get("/test-rls/tables").status_code == 500
            monkeypatch.undo()
        elif failure == "lost_answer":
            # The lookup scoped the session, then its answer never reached the books.
            def lost(*args, **kwargs):
                raise RuntimeError("the answer was lost")

            monkeypatch.setattr(rls, "record_scope", lost)
            assert client.get("/test-rls/tables").status_code == 500
            monkeypatch.undo()
        elif failure == "csrf":
            cookie_client = APIClient(enforce_csrf_checks=True)
            cookie_client.cookies[settings.JWT_COOKIE["ACCESS_NAME"]] = str(
                RefreshToken.for_user(world.member).access_token
            )
            assert cookie_client.post("/test-rls/tables", {"channel": "x"}, format="json").status_code == 403
        else:
            if failure == "inactive":
                User.objects.filter(pk=world.member.pk).update(is_active=False)
            else:
                User.objects.filter(pk=world.member.pk).update(password="changed")
            connection.close()
            assert client.get("/test-rls/tables").status_code == 401
        assert rls.scoped_tenant() is None
        # Signing in is anonymous: the lookup by email must see every tenant.
        login = APIClient().post(
            "/api/auth/login", {"email": world.outsider.email, "password": PASSWORD}, format="json"
        )
        assert login.status_code == 200, login.content
        connection.close()  # what request_finished does outside the test client
        with pool.connection() as conn:
            assert conn.info.backend_pid == backend
            assert _session_scope(conn) == ("on", "")
        assert bearer_client(world.outsider).get("/test-rls/tables").json()["user"] == [
            str(world.tenant_b.pk)
        ]


@pytest.mark.parametrize("who", ["member", "outsider", "staff"])
def test_the_lookup_keeps_the_books_as_the_session_is(world, who):
    user = getattr(world, who)
    request = APIRequestFactory().get(
        "/", HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}"
    )
    try:
        authenticated, _ = CookieJWTAuthentication().authenticate(Request(request))
        assert authenticated == user
        expected = None if user.is_platform_staff else str(user.tenant_id)
        assert rls.scoped_tenant() == expected
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.bypass_rls'), current_setting('app.tenant_id')")
            assert cursor.fetchone() == (("on", "") if expected is None else ("off", expected))
    finally:
        rls.unscope()


def test_a_refused_token_leaves_the_connection_unscoped(world):
    token = RefreshToken.for_user(world.member).access_token
    User.objects.filter(pk=world.member.pk).update(is_active=False)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    with pytest.raises(AuthenticationFailed):
        CookieJWTAuthentication().authenticate(Request(request))
    assert rls.scoped_tenant() is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.bypass_rls'), current_setting('app.tenant_id')")
        assert cursor.fetchone() == ("on", "")


@pytest.mark.urls("tenants.tests.rls_urls")
def test_a_streaming_response_is_read_scoped_and_unscoped_when_closed(world, monkeypatch):
    from tenants.tests import rls_urls

    def streamed(self, request):
        return StreamingHttpResponse(str(pk) for pk in Tenant.objects.values_list("pk", flat=True))

    monkeypatch.setattr(rls_urls.UnscopedTablesView, "get", streamed)
    response = bearer_client(world.member).get("/test-rls/tables")
    assert rls.scoped_tenant() == str(world.tenant_a.pk)  # its content is not read yet
    # The test client closes the response when its content is read to the end.
    assert b"".join(response.streaming_content) == str(world.tenant_a.pk).encode()
    assert rls.scoped_tenant() is None
    assert Tenant.objects.count() == 2
