"""/api/tenants/: onboarding and lifecycle."""

from __future__ import annotations

import pytest

from conftest import bearer_client
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_create_with_generated_slug(world):
    response = bearer_client(world.staff).post("/api/tenants/", {"name": "Initech Ltd."}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["status"], body["user_count"], body["channel_count"]) == (
        "initech-ltd",
        "active",
        0,
        0,
    )


def test_generated_slugs_stay_unique_and_short(world):
    client = bearer_client(world.staff)
    name = "A Very Long Organization Name That Goes On And On Forever Inc"
    first = client.post("/api/tenants/", {"name": name}, format="json").json()["slug"]
    second = client.post("/api/tenants/", {"name": name}, format="json").json()["slug"]
    assert first != second
    assert len(first) <= 40 and len(second) <= 40
    assert second.endswith("-2")


def test_explicit_slug_must_be_valid_and_free(world):
    client = bearer_client(world.staff)
    taken = client.post("/api/tenants/", {"name": "Dup", "slug": "acme"}, format="json")
    assert taken.status_code == 400
    assert taken.json()["code"] == "slug_taken"
    assert taken.json()["fields"]["slug"]
    for bad in ("Acme", "a_b", "a--b", "-a", "x" * 41):
        response = client.post("/api/tenants/", {"name": "Bad", "slug": bad}, format="json")
        assert response.status_code == 400, bad
        assert "slug" in response.json()["fields"]


def test_list_counts(world):
    body = bearer_client(world.staff).get("/api/tenants/").json()
    counts = {t["slug"]: (t["user_count"], t["channel_count"]) for t in body["results"]}
    assert counts == {"acme": (4, 2), "globex": (2, 1)}


def test_admin_renames_own_tenant(world):
    response = bearer_client(world.admin).patch(
        f"/api/tenants/{world.tenant_a.pk}/", {"name": "Acme 2"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Acme 2"
    assert response.json()["slug"] == "acme"


def test_suspend_and_reactivate(world):
    client = bearer_client(world.staff)
    assert client.post(f"/api/tenants/{world.tenant_a.pk}/suspend/").json()["status"] == "suspended"
    assert bearer_client(world.member).get("/api/auth/me").status_code == 403
    assert client.post(f"/api/tenants/{world.tenant_a.pk}/reactivate/").json()["status"] == "active"
    assert bearer_client(world.member).get("/api/auth/me").status_code == 200


def test_status_change_through_update(world):
    client = bearer_client(world.staff)
    response = client.patch(f"/api/tenants/{world.tenant_a.pk}/", {"status": "suspended"}, format="json")
    assert response.json()["status"] == "suspended"
    assert (
        client.patch(f"/api/tenants/{world.tenant_a.pk}/", {"status": "gone"}, format="json").status_code
        == 400
    )


def test_delete_cascades(world):
    assert bearer_client(world.staff).delete(f"/api/tenants/{world.tenant_b.pk}/").status_code == 204
    assert not Tenant.objects.filter(slug="globex").exists()
    from accounts.models import User
    from channels_app.models import Channel

    assert not User.objects.filter(tenant_id=world.tenant_b.pk).exists()
    assert not Channel.objects.filter(tenant_id=world.tenant_b.pk).exists()


def test_slug_cannot_change_at_model_level(world):
    world.tenant_a.slug = "other"
    with pytest.raises(ValueError, match="slug cannot change"):
        world.tenant_a.save()
