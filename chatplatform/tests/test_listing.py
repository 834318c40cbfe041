"""Compiled lists (``chatplatform.api.listing``) run exactly the SQL the ORM
would write for the same actor and filters, whatever they are."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.db.models.expressions import RawSQL
from rest_framework.request import Request

from accounts.api.views import UserViewSet
from channels_app.api.views import ChannelViewSet
from channels_app.models import Channel
from channels_app.tests.factories import ChannelFactory
from chatplatform.api.listing import ListShape, StandInActor, compile_page, page_statement
from chatplatform.api.pagination import PageNumberPagination
from tenants.api.mixins import CompiledListMixin
from tenants.models import Tenant
from tenants.roles import Role
from tenants.scoping import TenantScopedQuerySet

# Text a request may send whose LIKE pattern needs escaping, and a quote.
AWKWARD = "50%_\\o'brien"

PAGE = {"bound": 1000, "size": 50, "offset": 0}


def _actors(world) -> list[Any]:
    tenantless = StandInActor(pk=world.member.pk, tenant_id=None, role=Role.MEMBER, is_platform_staff=False)
    return [world.staff, world.admin, world.moderator, world.member, world.outsider, tenantless]


def _filters(view: CompiledListMixin, choices: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``choices``, as the list's filter serializer hands them over."""
    combinations = []
    for values in itertools.product(*choices.values()):
        query = {name: value for name, value in zip(choices, values, strict=True) if value is not None}
        params = view.list_filters(data=query)
        assert params.is_valid(), params.errors
        combinations.append(dict(params.validated_data))
    return combinations


def _same_sql_as_the_orm(view: CompiledListMixin, actor: Any, filters: dict[str, Any]) -> None:
    shape = ListShape(actor, filters, view.list_bound_filters)
    compiled = page_statement(("test", type(view)), shape, view._scoped_list)
    orm = compile_page(view._scoped_list(actor, filters), {})  # the real values, nothing bound
    assert compiled.empty == orm.empty
    if orm.empty:
        return
    assert compiled.sql == orm.sql
    assert compiled.bind(shape.values, **PAGE) == orm.bind({}, **PAGE)


@pytest.mark.parametrize(
    ("view_class", "choices"),
    [
        (
            ChannelViewSet,
            {
                "search": [None, "gen", AWKWARD],
                "visibility": [None, "public", "private"],
                "kind": [None, "channel", "direct"],
                "joined": [None, "true", "false"],
                "tenant": [None, "a", "b"],
            },
        ),
        (
            UserViewSet,
            {
                "search": [None, "son", AWKWARD],
                "role": [None, "admin", "member"],
                "is_active": [None, "true", "false"],
                "tenant": [None, "a", "b"],
            },
        ),
    ],
)
@pytest.mark.django_db
def test_a_list_binds_into_the_orms_own_sql(world, view_class, choices):
    view = view_class()
    tenants = {None: None, "a": world.tenant_a.pk, "b": world.tenant_b.pk}
    choices = {**choices, "tenant": [tenants[key] for key in choices["tenant"]]}
    for actor, chosen in itertools.product(_actors(world), _filters(view, choices)):
        _same_sql_as_the_orm(view, actor, chosen)


@pytest.mark.parametrize("view_class", [ChannelViewSet, UserViewSet])
@pytest.mark.django_db
def test_an_object_is_looked_up_with_the_orms_own_sql(world, view_class):
    view = view_class()
    targets = [world.public_channel.pk, world.private_channel.pk, world.member.pk, world.outsider.pk]
    seen = 0
    for actor, pk in itertools.product(_actors(world), targets):
        shape = ListShape(actor, {"pk": pk}, frozenset({"pk"}))
        compiled = page_statement(("test-detail", view_class), shape, view._scoped_detail)
        orm = compile_page(view._scoped_detail(actor, {"pk": pk}), {})
        assert compiled.empty == orm.empty
        if not orm.empty:
            assert compiled.sql == orm.sql
            assert compiled.bind(shape.values, bound=0, size=1, offset=0) == orm.bind(
                {}, bound=0, size=1, offset=0
            )
            found, _ = compiled.run(shape.values, bound=0, size=1, offset=0)
            expected = list(view._scoped_detail(actor, {"pk": pk}))
            assert [o.pk for o in found] == [o.pk for o in expected]
            seen += len(found)
    assert seen >= 4  # some actors see some of them, others not


@pytest.mark.django_db
def test_a_search_matches_its_text_literally(world, client_for):
    ChannelFactory(tenant=world.tenant_a, name="Sale 50%_\\o'brien", slug="sale")
    ChannelFactory(tenant=world.tenant_a, name="Sale 500 obrien", slug="sale-2")
    client = client_for(world.admin)
    for search, slugs in [(AWKWARD, ["sale"]), ("50%", ["sale"]), ("sale", ["sale", "sale-2"])]:
        body = client.get("/api/channels/", {"search": search}).json()
        assert [row["slug"] for row in body["results"]] == slugs, search
        assert body["count"] == len(slugs)


@pytest.mark.django_db
def test_pages_and_counts_match_the_orms_paginator(world, rf, settings):
    settings.API_COUNT_LIMIT = 5
    for i in range(9):
        ChannelFactory(tenant=world.tenant_a, name=f"Room {i}", slug=f"room-{i}")
    view = ChannelViewSet()
    shape = ListShape(world.admin, {"joined": None}, view.list_bound_filters)
    statement = page_statement(("test", ChannelViewSet), shape, view._scoped_list)
    queryset = view._scoped_list(world.admin, {"joined": None})
    for page, size in [(1, 2), (2, 2), (3, 4), (5, 2), (1, 50)]:
        request = Request(rf.get("/", {"page": page, "page_size": size}))
        compiled, orm = PageNumberPagination(), PageNumberPagination()
        assert [c.pk for c in compiled.paginate_statement(statement, shape.values, request)] == [
            c.pk for c in orm.paginate_queryset(queryset, request)
        ]
        assert (compiled.count, compiled.has_next) == (orm.count, orm.has_next)


@pytest.mark.django_db
def test_rows_come_back_as_the_orm_makes_them(world):
    view = UserViewSet()
    shape = ListShape(world.admin, {}, view.list_bound_filters)
    rows, count = page_statement(("test", UserViewSet), shape, view._scoped_list).run(shape.values, **PAGE)
    expected = list(view._scoped_list(world.admin, {}))
    assert count == len(expected) == len(rows)
    for row, user in zip(rows, expected, strict=True):
        assert (row.pk, row.email, row.tenant.slug, row.created_at) == (
            user.pk,
            user.email,
            user.tenant.slug,
            user.created_at,
        )
        assert not row._state.adding
    assert len({id(row.tenant) for row in rows}) == 1  # one tenant, one instance


def _shaped_by_a_value(actor: Any, filters: dict[str, Any]) -> TenantScopedQuerySet:
    """A list that branches on a bound value: what a compiled list may not do."""
    queryset = Channel.objects.all()
    if filters.get("search", "").endswith("."):
        return queryset.filter(name__startswith=filters["search"])
    return queryset.filter(name=filters.get("search", ""))


@pytest.mark.django_db
def test_a_list_shaped_by_a_bound_value_fails_the_sql_check(world):
    filters = {"search": "general."}
    shape = ListShape(world.admin, filters, frozenset({"search"}))
    compiled = page_statement(("test", "shaped"), shape, _shaped_by_a_value)
    orm = compile_page(_shaped_by_a_value(world.admin, filters), {})
    assert compiled.sql != orm.sql  # which is why every list is held to the ORM's SQL above


@pytest.mark.django_db
def test_a_value_written_into_the_sql_text_is_refused(world):
    def inlined(actor: Any, filters: dict[str, Any]) -> TenantScopedQuerySet:
        return Channel.objects.filter(pk=RawSQL(f"'{actor.pk}'", ()))  # noqa: S611

    with pytest.raises(ValueError, match=r"actor\.pk"):
        page_statement(("test", "inlined"), ListShape(world.admin, {}, frozenset()), inlined)


@pytest.mark.django_db
def test_a_list_reading_more_of_its_actor_than_its_shape_fails_to_compile(world):
    def by_email(actor: Any, filters: dict[str, Any]) -> TenantScopedQuerySet:
        return Channel.objects.filter(created_by__email=actor.email)

    with pytest.raises(AttributeError):
        page_statement(("test", "email"), ListShape(world.admin, {}, frozenset()), by_email)


@pytest.mark.django_db
def test_rows_of_different_tenants_keep_their_own_tenant(world):
    # Tenants created at the same instant (a bulk import) are still two tenants.
    Tenant.objects.filter(pk=world.tenant_b.pk).update(created_at=world.tenant_a.created_at)
    view = UserViewSet()
    shape = ListShape(world.staff, {}, view.list_bound_filters)
    rows, _ = page_statement(("test", UserViewSet), shape, view._scoped_list).run(shape.values, **PAGE)
    assert {(row.email, row.tenant.slug if row.tenant else None) for row in rows} == {
        (user.email, user.tenant.slug if user.tenant else None) for user in view._scoped_list(world.staff, {})
    }
    assert {row.tenant.slug for row in rows if row.tenant} == {"acme", "globex"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/users/", "/api/channels/"])
def test_a_list_is_prepared_and_a_search_is_planned_for_its_pattern(world, client_for, path):
    """PostgreSQL prepares a list's statement after a few runs; a search's is
    planned for its pattern every time, since the generic plan of ``LIKE $1``
    cannot know that a pattern matches thousands (it read and sorted them all)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    client = client_for(world.admin)

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if "_page_count" in row[0]]

    for _ in range(8):
        assert client.get(path, {"search": "a"}).status_code == 200
    assert prepared() == []
    for _ in range(8):
        assert client.get(path).status_code == 200
    statements = prepared()
    assert len(statements) == 1 and "LIKE" not in statements[0], statements
