"""List endpoints run a fixed number of queries, however many rows they return."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from channels_app.tests.factories import ChannelFactory
from conftest import bearer_client
from tenants.tests.factories import TenantFactory

# 1 authenticate (user + tenant), 1 count, 1 page.
LIST_QUERIES = 3
# 1 authenticate, 1 page with its count (chatplatform.api.listing).
COMPILED_LIST_QUERIES = 2


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, {"page_size": 200})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(world, n: int) -> None:
    users = [UserFactory(tenant=world.tenant_a) for _ in range(n)]
    for i in range(n):
        ChannelFactory(tenant=world.tenant_a, members=users[: i + 1])
        TenantFactory()


@pytest.mark.parametrize(
    ("path", "actor", "expected"),
    [
        ("/api/users/", "admin", COMPILED_LIST_QUERIES),
        ("/api/users/", "staff", COMPILED_LIST_QUERIES),
        ("/api/channels/", "member", COMPILED_LIST_QUERIES),
        ("/api/channels/", "admin", COMPILED_LIST_QUERIES),
        ("/api/tenants/", "staff", LIST_QUERIES),
        ("/api/tenants/", "admin", LIST_QUERIES),
    ],
)
def test_list_query_count_is_constant(world, path, actor, expected):
    client = bearer_client(world.by_role(actor))
    small = _queries(client, path)
    _grow(world, 12)
    large = _queries(client, path)
    assert small == large == expected


def test_members_list_query_count_is_constant(world):
    client = bearer_client(world.admin)
    url = f"/api/channels/{world.public_channel.pk}/members/"
    small = _queries(client, url)
    for _ in range(15):
        world.public_channel.memberships.create(user=UserFactory(tenant=world.tenant_a))
    large = _queries(client, url)
    # authenticate, channel (with its annotations), count, page
    assert small == large == 4


def test_detail_query_count(world):
    client = bearer_client(world.member)
    assert _queries(client, f"/api/users/{world.admin.pk}/") == 2
    assert _queries(client, f"/api/channels/{world.public_channel.pk}/") == 2


def _conversations(world, n: int) -> None:
    from channels_app.services import channel_direct_start

    for _ in range(n):
        channel_direct_start(creator=world.member, user_ids=[UserFactory(tenant=world.tenant_a).pk])
        channel_direct_start(creator=world.moderator, user_ids=[UserFactory(tenant=world.tenant_a).pk])


@pytest.mark.parametrize("actor", ["member", "moderator", "admin", "staff"])
@pytest.mark.parametrize("kind", ["", "channel", "direct"])
def test_list_query_count_is_constant_with_direct_conversations(world, actor, kind):
    client = bearer_client(world.by_role(actor))
    path = f"/api/channels/?kind={kind}" if kind else "/api/channels/"
    small = _queries(client, path)
    _conversations(world, 6)
    assert small == _queries(client, path) == COMPILED_LIST_QUERIES


def _started(client, user_ids) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(
            "/api/channels/direct", {"user_ids": [str(u) for u in user_ids]}, format="json"
        )
    assert response.status_code in (200, 201), response.content
    return response.status_code, len(ctx.captured_queries)


def test_direct_start_query_count_does_not_grow_with_its_members(world):
    """Found again: authenticate, the users, the lookup, the re-read with its
    annotations, and the transaction's savepoint and release. New: also the slug
    check, the insert in its own savepoint with its outbox row, the memberships
    (written in one insert: a new channel has none to read first) with their
    outbox row, and the audit event."""
    client = bearer_client(world.member)
    pair = [UserFactory(tenant=world.tenant_a).pk]
    group = [UserFactory(tenant=world.tenant_a).pk for _ in range(8)]
    assert _started(client, pair) == _started(client, group) == (201, 14)
    assert _started(client, pair) == _started(client, group) == (200, 6)


@pytest.mark.parametrize(("path", "queries"), [("/api/auth/me", 1), ("/api/stream/token", 2)])
def test_hot_endpoints_run_one_query(world, path, queries, settings):
    """Every page load and chat connect: the user with its tenant, nothing else; the
    chat token adds its throttle's count (one upsert, without Redis; the window's
    first count also drops ended windows, so the count is taken on the second)."""
    settings.REDIS_URL = ""
    client = bearer_client(world.member)
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    assert len(ctx.captured_queries) == queries, [q["sql"] for q in ctx.captured_queries]
