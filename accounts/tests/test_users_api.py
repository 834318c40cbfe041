"""/api/users/: the directory, role rules, and the last-admin invariant."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db


def _create(client, **body):
    body.setdefault("password", "a-decent-passphrase")
    body.setdefault("role", "member")
    return client.post("/api/users/", body, format="json")


class TestList:
    def test_paginated_envelope(self, world):
        body = bearer_client(world.member).get("/api/users/").json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 4  # tenant A: admin, moderator, two members

    def test_search_by_email_and_name(self, world):
        UserFactory(tenant=world.tenant_a, email="zoe@acme.test", full_name="Zoë Quartz")
        client = bearer_client(world.member)
        assert [u["email"] for u in client.get("/api/users/", {"search": "quartz"}).json()["results"]] == [
            "zoe@acme.test"
        ]
        assert client.get("/api/users/", {"search": "ZOE@"}).json()["count"] == 1

    def test_filter_by_role_and_active(self, world):
        UserFactory(tenant=world.tenant_a, is_active=False, email="off@acme.test")
        client = bearer_client(world.admin)
        assert {u["email"] for u in client.get("/api/users/", {"role": "moderator"}).json()["results"]} == {
            world.moderator.email
        }
        inactive = client.get("/api/users/", {"is_active": "false"}).json()["results"]
        assert [u["email"] for u in inactive] == ["off@acme.test"]

    def test_bad_filters_are_a_400_naming_them(self, world):
        response = bearer_client(world.admin).get("/api/users/", {"role": "king", "is_active": "perhaps"})
        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"role", "is_active"}

    def test_page_size_is_capped_at_200(self, world):
        User.objects.bulk_create(
            User(tenant=world.tenant_a, email=f"bulk{i}@acme.test", password="!") for i in range(205)
        )
        body = bearer_client(world.member).get("/api/users/", {"page_size": 500}).json()
        assert len(body["results"]) == 200
        assert body["next"] and "page=2" in body["next"]

    def test_out_of_range_page_is_a_404(self, world):
        response = bearer_client(world.member).get("/api/users/", {"page": 99})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_no_password_material_anywhere(self, world):
        body = bearer_client(world.staff).get("/api/users/").content.decode()
        assert "password" not in body and "md5$" not in body and "argon2" not in body


class TestCreate:
    def test_admin_creates_any_role_in_own_tenant(self, world):
        for role in ("admin", "moderator", "member"):
            response = _create(bearer_client(world.admin), email=f"{role}-new@acme.test", role=role)
            assert response.status_code == 201
            assert response.json()["tenant"] == str(world.tenant_a.pk)
            assert response.json()["role"] == role

    def test_moderator_creates_only_members(self, world):
        client = bearer_client(world.moderator)
        assert _create(client, email="m@acme.test").status_code == 201
        for role in ("moderator", "admin"):
            response = _create(client, email=f"{role}@x.test", role=role)
            assert response.status_code == 403
            assert response.json()["code"] == "role_not_allowed"
        assert not User.objects.filter(email__in=["moderator@x.test", "admin@x.test"]).exists()

    def test_staff_must_name_the_tenant(self, world):
        client = bearer_client(world.staff)
        response = _create(client, email="x@x.test")
        assert response.status_code == 400
        assert "tenant" in response.json()["fields"]
        response = _create(client, email="x@x.test", tenant=str(world.tenant_b.pk))
        assert response.status_code == 201
        assert response.json()["tenant"] == str(world.tenant_b.pk)

    def test_own_tenant_id_in_body_is_accepted(self, world):
        response = _create(bearer_client(world.admin), email="y@acme.test", tenant=str(world.tenant_a.pk))
        assert response.status_code == 201

    def test_email_taken_case_insensitively(self, world):
        response = _create(bearer_client(world.admin), email=world.member.email.upper())
        assert response.status_code == 400
        assert response.json()["code"] == "email_taken"

    def test_weak_password_is_refused_with_reasons(self, world):
        response = _create(bearer_client(world.admin), email="weak@acme.test", password="12345678")
        assert response.status_code == 400
        assert response.json()["fields"]["password"]
        assert not User.objects.filter(email="weak@acme.test").exists()

    def test_without_password_the_user_cannot_log_in(self, world):
        response = bearer_client(world.admin).post(
            "/api/users/", {"email": "nopass@acme.test", "role": "member"}, format="json"
        )
        assert response.status_code == 201
        assert not User.objects.get(email="nopass@acme.test").has_usable_password()

    def test_invalid_email_and_role(self, world):
        response = _create(bearer_client(world.admin), email="not-an-email", role="owner")
        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"email", "role"}


class TestUpdate:
    def test_member_updates_own_name_and_password(self, world):
        client = bearer_client(world.member)
        response = client.patch(f"/api/users/{world.member.pk}/", {"full_name": "Mary Q"}, format="json")
        assert response.status_code == 200
        assert response.json()["full_name"] == "Mary Q"
        response = client.patch(
            f"/api/users/{world.member.pk}/", {"password": "another-good-passphrase"}, format="json"
        )
        assert response.status_code == 200
        world.member.refresh_from_db()
        assert world.member.check_password("another-good-passphrase")

    def test_member_cannot_change_own_email_or_role(self, world):
        client = bearer_client(world.member)
        for body in ({"email": "new@acme.test"}, {"role": "admin"}, {"is_active": False}):
            assert client.patch(f"/api/users/{world.member.pk}/", body, format="json").status_code == 403
        world.member.refresh_from_db()
        assert (world.member.email, world.member.role, world.member.is_active) == (
            "member@acme.test",
            "member",
            True,
        )

    def test_nobody_changes_their_own_role(self, world):
        for user in (world.admin, world.moderator):
            response = bearer_client(user).patch(f"/api/users/{user.pk}/", {"role": "member"}, format="json")
            assert response.status_code == 403
            assert response.json()["code"] == "own_role"

    def test_moderator_cannot_promote(self, world):
        client = bearer_client(world.moderator)
        for role in ("moderator", "admin"):
            response = client.patch(f"/api/users/{world.member.pk}/", {"role": role}, format="json")
            assert response.status_code == 403
        world.member.refresh_from_db()
        assert world.member.role == "member"

    def test_moderator_cannot_touch_admins_or_moderators(self, world):
        other_mod = UserFactory(tenant=world.tenant_a, role="moderator")
        client = bearer_client(world.moderator)
        for target in (world.admin, other_mod):
            assert (
                client.patch(f"/api/users/{target.pk}/", {"is_active": False}, format="json").status_code
                == 403
            )

    def test_admin_promotes_and_demotes(self, world):
        client = bearer_client(world.admin)
        response = client.patch(f"/api/users/{world.member.pk}/", {"role": "admin"}, format="json")
        assert response.json()["role"] == "admin"
        response = client.patch(f"/api/users/{world.member.pk}/", {"role": "member"}, format="json")
        assert response.json()["role"] == "member"

    def test_empty_update_is_a_400(self, world):
        response = bearer_client(world.admin).patch(f"/api/users/{world.member.pk}/", {}, format="json")
        assert response.status_code == 400


class TestLastAdmin:
    def test_last_admin_cannot_be_demoted_deactivated_or_deleted(self, world):
        client = bearer_client(world.staff)
        url = f"/api/users/{world.admin.pk}/"
        for response in (
            client.patch(url, {"role": "member"}, format="json"),
            client.patch(url, {"is_active": False}, format="json"),
            client.delete(url),
        ):
            assert response.status_code == 409
            assert response.json()["code"] == "last_admin"
        world.admin.refresh_from_db()
        assert world.admin.role == "admin" and world.admin.is_active

    def test_with_a_second_admin_it_works(self, world):
        second = UserFactory(tenant=world.tenant_a, role="admin")
        client = bearer_client(second)
        assert (
            client.patch(f"/api/users/{world.admin.pk}/", {"role": "member"}, format="json").status_code
            == 200
        )
        # Now `second` is the last one.
        assert bearer_client(world.staff).delete(f"/api/users/{second.pk}/").status_code == 409

    def test_an_inactive_admin_does_not_count(self, world):
        UserFactory(tenant=world.tenant_a, role="admin", is_active=False)
        response = bearer_client(world.staff).patch(
            f"/api/users/{world.admin.pk}/", {"role": "member"}, format="json"
        )
        assert response.status_code == 409

    def test_admin_deletes_self_when_another_admin_remains(self, world):
        UserFactory(tenant=world.tenant_a, role="admin")
        assert bearer_client(world.admin).delete(f"/api/users/{world.admin.pk}/").status_code == 204


class TestDelete:
    def test_delete_removes_memberships(self, world):
        assert world.member.memberships.exists()
        assert bearer_client(world.admin).delete(f"/api/users/{world.member.pk}/").status_code == 204
        assert not User.objects.filter(pk=world.member.pk).exists()
        assert not world.public_channel.memberships.filter(user_id=world.member.pk).exists()
