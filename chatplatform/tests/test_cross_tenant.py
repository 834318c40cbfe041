"""Tenant isolation through the public surface.

For every detail route the router knows and every method it serves, an id of
another tenant's object answers exactly like an id that does not exist: the
same status (404) and the same body. New routes are picked up automatically.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.urls import reverse

from chatplatform.urls import router
from conftest import World, bearer_client

BODIES = {
    "post": {"name": "x", "user_ids": [], "role": "member"},
    "put": {"name": "x"},
    "patch": {"name": "x"},
    "delete": None,
    "get": None,
}


BASENAMES = sorted((basename for _, _, basename in router.registry), key=len, reverse=True)


def _detail_routes() -> list[tuple[str, str, str]]:
    """(url name, basename, method) for every route that takes an object id."""
    routes = []
    for pattern in router.urls:
        if "pk" not in pattern.pattern.regex.groupindex:
            continue
        basename = next(b for b in BASENAMES if pattern.name.startswith(f"{b}-"))
        for method in pattern.callback.actions:
            routes.append((pattern.name, basename, method))
    return routes


DETAIL_ROUTES = _detail_routes()


def _ids(world: World, basename: str) -> tuple[dict[str, str], dict[str, str]]:
    """(an object of tenant B, an id that exists nowhere) for a resource."""
    from audit.services import audit_record
    from onboarding.invitations import invitation_create

    foreign_event = audit_record(action="user.updated", target_type="user", tenant=world.tenant_b)
    foreign_invitation = invitation_create(
        tenant=world.tenant_b, email="guest@globex.test", send=False
    ).invitation
    return {
        "tenant": ({"pk": str(world.tenant_b.pk)}, {"pk": str(uuid.uuid4())}),
        "user": ({"pk": str(world.outsider_member.pk)}, {"pk": str(uuid.uuid4())}),
        "channel": ({"pk": str(world.foreign_channel.pk)}, {"pk": str(uuid.uuid4())}),
        "audit-event": ({"pk": str(foreign_event.pk)}, {"pk": "987654321"}),
        "invitation": ({"pk": str(foreign_invitation.pk)}, {"pk": str(uuid.uuid4())}),
    }[basename]


def test_every_resource_has_detail_routes_covered():
    assert {basename for _, basename, _ in DETAIL_ROUTES} == {
        "tenant",
        "user",
        "channel",
        "audit-event",
        "invitation",
    }
    assert len(DETAIL_ROUTES) >= 15


@pytest.mark.parametrize("actor_role", ["admin", "moderator", "member"])
@pytest.mark.parametrize(("name", "basename", "method"), DETAIL_ROUTES, ids=lambda v: str(v))
def test_foreign_object_answers_like_a_missing_one(world, actor_role, name, basename, method):
    client = bearer_client(world.by_role(actor_role))
    kwargs, missing = _ids(world, basename)
    if "user_id" in re.compile(router_pattern(name)).groupindex:
        kwargs["user_id"] = str(world.outsider.pk)
        missing["user_id"] = str(world.outsider.pk)
    body = BODIES[method]

    def call(url_kwargs):
        return getattr(client, method)(reverse(name, kwargs=url_kwargs), body, format="json")

    foreign, nonexistent = call(kwargs), call(missing)
    assert foreign.status_code == nonexistent.status_code == 404
    assert foreign.json() == nonexistent.json() == {"detail": "Not found.", "code": "not_found"}


def router_pattern(name: str) -> str:
    return next(p.pattern.regex.pattern for p in router.urls if p.name == name)


def test_member_id_of_another_tenant_in_own_channel_is_not_found(world):
    client = bearer_client(world.admin)
    url = f"/api/channels/{world.public_channel.pk}/members/"
    foreign = client.delete(f"{url}{world.outsider.pk}/")
    missing = client.delete(f"{url}{uuid.uuid4()}/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


@pytest.mark.parametrize("path", ["/api/tenants/", "/api/users/", "/api/channels/"])
@pytest.mark.parametrize("actor_role", ["admin", "moderator", "member"])
def test_lists_never_contain_another_tenants_rows(world, path, actor_role):
    response = bearer_client(world.by_role(actor_role)).get(path, {"page_size": 200})
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    foreign = {
        str(world.tenant_b.pk),
        str(world.outsider.pk),
        str(world.outsider_member.pk),
        str(world.foreign_channel.pk),
    }
    assert ids and not ids & foreign
    for row in response.json()["results"]:
        assert row.get("tenant", str(world.tenant_a.pk)) == str(world.tenant_a.pk)


@pytest.mark.parametrize("path", ["/api/users/", "/api/channels/"])
def test_tenant_filter_cannot_reach_another_tenant(world, path):
    response = bearer_client(world.admin).get(path, {"tenant": str(world.tenant_b.pk)})
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_staff_can_filter_by_tenant(world):
    response = bearer_client(world.staff).get("/api/users/", {"tenant": str(world.tenant_b.pk)})
    emails = {u["email"] for u in response.json()["results"]}
    assert emails == {world.outsider.email, world.outsider_member.email}


def test_channel_member_ids_are_scoped_and_nothing_is_created(world):
    client = bearer_client(world.admin)
    response = client.post(
        "/api/channels/",
        {"name": "Mixed", "member_ids": [str(world.member.pk), str(world.outsider.pk)]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_user_ids"
    assert str(world.outsider.pk) in response.json()["detail"]
    assert str(world.member.pk) not in response.json()["detail"]
    assert not world.tenant_a.channels.filter(name="Mixed").exists()


def test_add_members_with_a_foreign_id_adds_nobody(world):
    client = bearer_client(world.admin)
    url = f"/api/channels/{world.private_channel.pk}/members/"
    before = set(world.private_channel.memberships.values_list("user_id", flat=True))
    response = client.post(url, {"user_ids": [str(world.member.pk), str(world.outsider.pk)]}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["user_ids"] == [f"No such user in this tenant: {world.outsider.pk}"]
    assert set(world.private_channel.memberships.values_list("user_id", flat=True)) == before


def test_tenant_users_cannot_create_in_another_tenant(world):
    client = bearer_client(world.admin)
    response = client.post(
        "/api/users/",
        {"email": "spy@x.test", "role": "member", "tenant": str(world.tenant_b.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "tenant" in response.json()["fields"]
    assert not world.tenant_b.users.filter(email="spy@x.test").exists()
    response = client.post("/api/channels/", {"name": "Spy", "tenant": str(world.tenant_b.pk)}, format="json")
    assert response.status_code == 400
    assert not world.tenant_b.channels.filter(name="Spy").exists()


def test_members_of_a_private_channel_are_hidden_from_non_members(world):
    response = bearer_client(world.member).get(f"/api/channels/{world.private_channel.pk}/members/")
    assert response.status_code == 404


CHANNEL_ROUTES = [route for route in DETAIL_ROUTES if route[1] == "channel"]


def _foreign_conversation(world: World):
    from channels_app.services import channel_direct_start

    channel, _ = channel_direct_start(creator=world.outsider, user_ids=[world.outsider_member.pk])
    return channel


@pytest.mark.parametrize("actor_role", ["admin", "moderator", "member"])
@pytest.mark.parametrize(("name", "basename", "method"), CHANNEL_ROUTES, ids=lambda v: str(v))
def test_foreign_direct_conversation_answers_like_a_missing_one(world, actor_role, name, basename, method):
    client = bearer_client(world.by_role(actor_role))
    conversation = _foreign_conversation(world)
    kwargs, missing = {"pk": str(conversation.pk)}, {"pk": str(uuid.uuid4())}
    if "user_id" in re.compile(router_pattern(name)).groupindex:
        kwargs["user_id"] = missing["user_id"] = str(world.outsider_member.pk)

    def call(url_kwargs):
        return getattr(client, method)(reverse(name, kwargs=url_kwargs), BODIES[method], format="json")

    foreign, nonexistent = call(kwargs), call(missing)
    assert foreign.status_code == nonexistent.status_code == 404
    assert foreign.json() == nonexistent.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("actor_role", ["admin", "moderator", "member"])
def test_another_tenants_conversations_are_never_listed(world, actor_role):
    conversation = _foreign_conversation(world)
    client = bearer_client(world.by_role(actor_role))
    for params in ({}, {"kind": "direct"}, {"tenant": str(world.tenant_b.pk)}):
        ids = {row["id"] for row in client.get("/api/channels/", params).json()["results"]}
        assert str(conversation.pk) not in ids


@pytest.mark.parametrize("actor_role", ["admin", "moderator", "member"])
def test_a_direct_conversation_with_another_tenants_user_answers_like_an_unknown_id(world, actor_role):
    client = bearer_client(world.by_role(actor_role))
    ghost = str(uuid.uuid4())
    foreign = client.post("/api/channels/direct", {"user_ids": [str(world.outsider.pk)]}, format="json")
    unknown = client.post("/api/channels/direct", {"user_ids": [ghost]}, format="json")
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json()["code"] == "invalid_user_ids"
    assert str(world.outsider.pk) in foreign.json()["detail"]
    # The same body, but for the id it names.
    assert json.dumps(foreign.json()).replace(str(world.outsider.pk), "ID") == json.dumps(
        unknown.json()
    ).replace(ghost, "ID")
    assert not world.tenant_a.channels.direct().exists()
    assert not world.tenant_b.channels.direct().exists()
