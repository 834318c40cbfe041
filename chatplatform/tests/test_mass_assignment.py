"""Fields a caller may not set are refused with a 400 naming them, and nothing changes."""

from __future__ import annotations

import uuid

import pytest

from conftest import bearer_client

PROTECTED_USER_FIELDS = {
    "tenant": lambda w: str(w.tenant_b.pk),
    "is_staff": lambda w: True,
    "is_superuser": lambda w: True,
    "id": lambda w: str(uuid.uuid4()),
    "created_at": lambda w: "2000-01-01T00:00:00Z",
    "updated_at": lambda w: "2000-01-01T00:00:00Z",
    "chat_user_id": lambda w: "someone-else",
    "last_login": lambda w: "2000-01-01T00:00:00Z",
}


@pytest.mark.parametrize("field", sorted(PROTECTED_USER_FIELDS))
@pytest.mark.parametrize("actor", ["staff", "admin", "member"])
def test_user_update_refuses_protected_fields(world, field, actor):
    target = world.member
    before = {f: getattr(target, f, None) for f in ("tenant_id", "is_staff", "id", "created_at", "role")}
    response = bearer_client(world.by_role(actor)).patch(
        f"/api/users/{target.pk}/", {field: PROTECTED_USER_FIELDS[field](world)}, format="json"
    )
    assert response.status_code in (400, 403)
    if response.status_code == 400:
        assert field in response.json()["fields"]
    target.refresh_from_db()
    assert {f: getattr(target, f, None) for f in before} == before


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "id", "created_at"])
def test_user_create_refuses_protected_fields(world, field):
    value = PROTECTED_USER_FIELDS[field](world)
    response = bearer_client(world.admin).post(
        "/api/users/", {"email": "sneaky@acme.test", "role": "member", field: value}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "renamed"}, "slug"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"created_at": "2000-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_tenant_update_refuses_protected_fields(world, body, field):
    response = bearer_client(world.staff).patch(f"/api/tenants/{world.tenant_a.pk}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.slug == "acme"


def test_tenant_admin_cannot_change_status(world):
    response = bearer_client(world.admin).patch(
        f"/api/tenants/{world.tenant_a.pk}/", {"status": "suspended"}, format="json"
    )
    assert response.status_code == 403
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.status == "active"


@pytest.mark.parametrize(
    "body",
    [
        {"slug": "renamed"},
        {"tenant": "x"},
        {"created_by": "x"},
        {"id": str(uuid.uuid4())},
        {"cid": "messaging:x"},
    ],
)
def test_channel_update_refuses_protected_fields(world, body):
    response = bearer_client(world.admin).patch(
        f"/api/channels/{world.public_channel.pk}/", body, format="json"
    )
    assert response.status_code == 400
    world.public_channel.refresh_from_db()
    assert world.public_channel.slug == "general"


def test_channel_create_ignores_nothing_silently(world):
    response = bearer_client(world.admin).post(
        "/api/channels/", {"name": "X", "created_by": str(world.member.pk)}, format="json"
    )
    assert response.status_code == 400
    assert "created_by" in response.json()["fields"]
