"""/api/channels/: visibility, membership and slugs."""

from __future__ import annotations

import pytest

from channels_app.models import Channel, Membership
from conftest import bearer_client

pytestmark = pytest.mark.django_db


def _slugs(response) -> set[str]:
    return {c["slug"] for c in response.json()["results"]}


class TestVisibility:
    def test_member_sees_public_and_own_private_channels(self, world):
        assert _slugs(bearer_client(world.member).get("/api/channels/")) == {"general"}
        assert _slugs(bearer_client(world.other_member).get("/api/channels/")) == {"general", "secret"}

    def test_admin_and_moderator_see_everything_in_the_tenant(self, world):
        for user in (world.admin, world.moderator):
            assert _slugs(bearer_client(user).get("/api/channels/")) == {"general", "secret"}

    def test_staff_sees_every_tenant(self, world):
        assert _slugs(bearer_client(world.staff).get("/api/channels/")) == {
            "general",
            "secret",
            "globex-general",
        }

    def test_filters(self, world):
        client = bearer_client(world.other_member)
        assert _slugs(client.get("/api/channels/", {"visibility": "private"})) == {"secret"}
        assert _slugs(client.get("/api/channels/", {"joined": "true"})) == {"secret"}
        assert _slugs(client.get("/api/channels/", {"search": "GEN"})) == {"general"}

    def test_response_shape(self, world):
        channel = bearer_client(world.member).get(f"/api/channels/{world.public_channel.pk}/").json()
        assert channel["cid"] == f"messaging:{world.public_channel.pk.hex}"
        assert channel["member_count"] == 1
        assert channel["is_member"] is True
        assert channel["tenant"] == str(world.tenant_a.pk)


class TestCreate:
    def test_slug_from_name_and_creator_moderates(self, world):
        response = bearer_client(world.moderator).post(
            "/api/channels/",
            {"name": "Product Launch!", "visibility": "private", "member_ids": [str(world.member.pk)]},
            format="json",
        )
        assert response.status_code == 201
        body = response.json()
        assert body["slug"] == "product-launch"
        assert body["member_count"] == 2
        assert body["created_by"] == str(world.moderator.pk)
        roles = dict(Membership.objects.filter(channel_id=body["id"]).values_list("user__email", "role"))
        assert roles == {world.moderator.email: "moderator", world.member.email: "member"}

    def test_duplicate_slug_gets_a_suffix_or_a_400(self, world):
        client = bearer_client(world.admin)
        assert client.post("/api/channels/", {"name": "General"}, format="json").json()["slug"] == "general-2"
        response = client.post("/api/channels/", {"name": "X", "slug": "general"}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "slug_taken"

    def test_a_slug_taken_between_the_check_and_the_insert_is_a_400_that_writes_nothing(
        self, world, monkeypatch
    ):
        """Two creates racing for one slug: the loser's insert hits the unique
        index and answers as if the check had seen the winner."""
        from django.db import transaction

        from channels_app import services
        from chatplatform.errors import ApplicationError
        from streamsync.models import OutboxEntry

        monkeypatch.setattr(services, "slug_from_name", lambda *args, **kwargs: "general")
        outbox = OutboxEntry.objects.count()
        response = bearer_client(world.admin).post("/api/channels/", {"name": "General"}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "slug_taken"
        assert OutboxEntry.objects.count() == outbox
        # Inside a caller's transaction (an import), the refusal leaves that transaction usable.
        with transaction.atomic():
            with pytest.raises(ApplicationError):
                services.channel_create(tenant=world.tenant_a, name="General")
            assert Channel.objects.filter(tenant=world.tenant_a, slug="general").count() == 1

    def test_same_slug_in_another_tenant_is_fine(self, world):
        response = bearer_client(world.outsider).post(
            "/api/channels/", {"name": "G", "slug": "general"}, format="json"
        )
        assert response.status_code == 201

    @pytest.mark.parametrize("slug", ["Has Spaces", "UPPER", "-lead", "x" * 65, "under_score"])
    def test_invalid_slug(self, world, slug):
        response = bearer_client(world.admin).post(
            "/api/channels/", {"name": "N", "slug": slug}, format="json"
        )
        assert response.status_code == 400

    def test_non_latin_name_gets_a_slug(self, world):
        response = bearer_client(world.admin).post("/api/channels/", {"name": "日本支社"}, format="json")
        assert response.status_code == 201
        assert response.json()["slug"]

    def test_missing_name(self, world):
        response = bearer_client(world.admin).post("/api/channels/", {}, format="json")
        assert response.status_code == 400
        assert "name" in response.json()["fields"]


class TestMembers:
    def test_add_members_and_change_roles(self, world):
        client = bearer_client(world.admin)
        url = f"/api/channels/{world.private_channel.pk}/members/"
        response = client.post(url, {"user_ids": [str(world.member.pk)], "role": "moderator"}, format="json")
        assert response.status_code == 201
        assert [(m["user"]["email"], m["role"]) for m in response.json()] == [
            (world.member.email, "moderator")
        ]
        client.post(url, {"user_ids": [str(world.member.pk)]}, format="json")
        listed = client.get(url).json()
        assert listed["count"] == 2
        assert {m["user"]["email"]: m["role"] for m in listed["results"]} == {
            world.other_member.email: "member",
            world.member.email: "member",
        }

    def test_unknown_ids_are_named_and_nothing_is_added(self, world):
        import uuid

        ghost = uuid.uuid4()
        url = f"/api/channels/{world.private_channel.pk}/members/"
        response = bearer_client(world.admin).post(
            url, {"user_ids": [str(world.member.pk), str(ghost)]}, format="json"
        )
        assert response.status_code == 400
        assert str(ghost) in response.json()["detail"]
        assert not world.private_channel.memberships.filter(user=world.member).exists()

    def test_member_leaves_but_cannot_remove_others(self, world):
        Membership.objects.create(channel=world.public_channel, user=world.other_member)
        client = bearer_client(world.member)
        base = f"/api/channels/{world.public_channel.pk}/members"
        assert client.delete(f"{base}/{world.other_member.pk}/").status_code == 403
        assert client.delete(f"{base}/{world.member.pk}/").status_code == 204
        assert client.delete(f"{base}/{world.member.pk}/").status_code == 404

    def test_join_public_channel(self, world):
        client = bearer_client(world.other_member)
        url = f"/api/channels/{world.public_channel.pk}/join/"
        assert client.post(url).status_code == 201
        assert client.post(url).status_code == 200
        assert world.public_channel.memberships.filter(user=world.other_member).exists()

    def test_private_channel_cannot_be_joined(self, world):
        response = bearer_client(world.admin).post(f"/api/channels/{world.private_channel.pk}/join/")
        assert response.status_code == 403
        assert response.json()["code"] == "channel_private"


class TestUpdateDelete:
    def test_update_fields(self, world):
        response = bearer_client(world.moderator).patch(
            f"/api/channels/{world.public_channel.pk}/",
            {"name": "Everyone", "visibility": "private", "description": "All hands"},
            format="json",
        )
        assert response.status_code == 200
        assert (response.json()["name"], response.json()["visibility"], response.json()["slug"]) == (
            "Everyone",
            "private",
            "general",
        )

    def test_delete_removes_memberships(self, world):
        assert (
            bearer_client(world.admin).delete(f"/api/channels/{world.public_channel.pk}/").status_code == 204
        )
        assert not Channel.objects.filter(pk=world.public_channel.pk).exists()
        assert not Membership.objects.filter(channel_id=world.public_channel.pk).exists()
