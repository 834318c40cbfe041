"""Direct conversations: started by any tenant user with colleagues, private,
with fixed members, and found again by their member set."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from channels_app.models import Channel, ChannelKind, Membership, direct_key_for
from channels_app.services import channel_direct_start
from conftest import bearer_client

pytestmark = pytest.mark.django_db

DIRECT = "/api/channels/direct"


def start(user, *others, path: str = DIRECT):
    return bearer_client(user).post(path, {"user_ids": [str(o.pk) for o in others]}, format="json")


def _slugs(response) -> set[str]:
    return {c["slug"] for c in response.json()["results"]}


class TestStart:
    @pytest.mark.parametrize("role", ["admin", "moderator", "member"])
    def test_any_tenant_user_starts_one_with_a_colleague(self, world, role):
        caller = world.by_role(role)
        response = start(caller, world.other_member)
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["kind"], body["visibility"], body["member_count"], body["is_member"]) == (
            "direct",
            "private",
            2,
            True,
        )
        assert body["slug"].startswith("dm-")
        assert body["tenant"] == str(world.tenant_a.pk)
        assert body["created_by"] == str(caller.pk)
        assert body["cid"] == f"messaging:{uuid.UUID(body['id']).hex}"
        # Everyone, the starter included, is a plain member.
        roles = dict(Membership.objects.filter(channel_id=body["id"]).values_list("user_id", "role"))
        assert roles == {caller.pk: "member", world.other_member.pk: "member"}

    def test_the_name_says_who_is_in_it(self, world):
        world.member.full_name = "Mary Member"
        world.member.save()
        world.other_member.full_name = "Ann Other"
        world.other_member.save()
        assert start(world.member, world.other_member).json()["name"] == "Ann Other, Mary Member"

    def test_starting_again_with_the_same_people_returns_the_same_conversation(self, world):
        first = start(world.member, world.other_member, world.moderator)
        assert first.status_code == 201
        again = [
            start(world.member, world.moderator, world.other_member),
            start(world.other_member, world.member, world.moderator),
            # The caller's own id and repeats are ignored.
            start(world.moderator, world.moderator, world.member, world.other_member, world.member),
        ]
        assert [r.status_code for r in again] == [200, 200, 200]
        assert {r.json()["id"] for r in again} == {first.json()["id"]}
        assert Channel.objects.direct().count() == 1

    def test_other_people_make_another_conversation(self, world):
        pair = start(world.member, world.other_member).json()["id"]
        group = start(world.member, world.other_member, world.moderator).json()["id"]
        other_pair = start(world.member, world.moderator).json()["id"]
        assert len({pair, group, other_pair}) == 3

    def test_the_path_works_with_and_without_the_trailing_slash(self, world):
        assert start(world.member, world.other_member, path=DIRECT).status_code == 201
        assert start(world.member, world.other_member, path=f"{DIRECT}/").status_code == 200

    def test_at_most_eight_others(self, world):
        colleagues = [UserFactory(tenant=world.tenant_a) for _ in range(9)]
        response = start(world.member, *colleagues)
        assert response.status_code == 400
        assert "user_ids" in response.json()["fields"]
        assert start(world.member, *colleagues[:8]).status_code == 201
        assert Channel.objects.direct().get().memberships.count() == 9

    @pytest.mark.parametrize("body", [{"user_ids": []}, {}, {"user_ids": "x"}, {"user_ids": ["nope"]}])
    def test_malformed_bodies_are_a_400(self, world, body):
        response = bearer_client(world.member).post(DIRECT, body, format="json")
        assert response.status_code == 400
        assert "user_ids" in response.json()["fields"]

    def test_a_conversation_with_oneself_only_is_refused(self, world):
        response = start(world.member, world.member)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_user_ids"
        assert not Channel.objects.direct().exists()

    def test_other_fields_are_refused(self, world):
        response = bearer_client(world.member).post(
            DIRECT, {"user_ids": [str(world.other_member.pk)], "name": "Secret plans"}, format="json"
        )
        assert response.status_code == 400
        assert "name" in response.json()["fields"]

    def test_foreign_and_unknown_ids_answer_alike_and_nothing_is_created(self, world):
        ghost = uuid.uuid4()
        foreign = bearer_client(world.member).post(
            DIRECT, {"user_ids": [str(world.other_member.pk), str(world.outsider.pk)]}, format="json"
        )
        unknown = bearer_client(world.member).post(
            DIRECT, {"user_ids": [str(world.other_member.pk), str(ghost)]}, format="json"
        )
        assert foreign.status_code == unknown.status_code == 400
        assert foreign.json()["code"] == unknown.json()["code"] == "invalid_user_ids"
        assert str(world.outsider.pk) in foreign.json()["detail"]
        assert str(world.other_member.pk) not in foreign.json()["detail"]
        assert foreign.json()["fields"] == {"user_ids": [f"No such user in this tenant: {world.outsider.pk}"]}
        assert unknown.json()["fields"] == {"user_ids": [f"No such user in this tenant: {ghost}"]}
        assert str(foreign.json()).replace(str(world.outsider.pk), "ID") == str(unknown.json()).replace(
            str(ghost), "ID"
        )
        assert not Channel.objects.direct().exists()

    def test_platform_staff_are_not_chat_users(self, world):
        assert start(world.staff, world.member).status_code == 403

    def test_a_deactivated_colleague_is_refused(self, world):
        world.other_member.is_active = False
        world.other_member.save()
        response = start(world.member, world.other_member)
        assert response.status_code == 400
        assert response.json()["code"] == "inactive_users"
        assert response.json()["fields"] == {
            "user_ids": [f"This user is deactivated: {world.other_member.pk}"]
        }
        assert not Channel.objects.direct().exists()

    def test_the_start_is_audited(self, world):
        body = start(world.member, world.other_member).json()
        event = AuditEvent.objects.get(action="channel.created", target_id=body["id"])
        assert (event.actor_id, event.tenant_id) == (world.member.pk, world.tenant_a.pk)
        assert event.changes["kind"] == [None, "direct"]
        assert event.changes["members"] == [None, 2]
        start(world.other_member, world.member)  # found again: nothing new to record
        assert AuditEvent.objects.filter(action="channel.created", target_id=body["id"]).count() == 1


@pytest.fixture
def conversation(world) -> Channel:
    """A direct conversation of the two members of tenant A."""
    channel, _ = channel_direct_start(creator=world.member, user_ids=[world.other_member.pk])
    return channel


class TestFixedMembers:
    @pytest.mark.parametrize("role", ["staff", "admin"])
    def test_nobody_adds_members(self, world, conversation, role):
        response = bearer_client(world.by_role(role)).post(
            f"/api/channels/{conversation.pk}/members/", {"user_ids": [str(world.admin.pk)]}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["code"] == "direct_channel"
        assert "fixed members" in response.json()["detail"]
        assert conversation.memberships.count() == 2

    def test_a_member_cannot_add_anyone_either(self, world, conversation):
        response = bearer_client(world.member).post(
            f"/api/channels/{conversation.pk}/members/", {"user_ids": [str(world.admin.pk)]}, format="json"
        )
        assert response.status_code == 403

    def test_nobody_leaves_or_is_removed(self, world, conversation):
        base = f"/api/channels/{conversation.pk}/members"
        leave = bearer_client(world.member).delete(f"{base}/{world.member.pk}/")
        remove = bearer_client(world.admin).delete(f"{base}/{world.other_member.pk}/")
        assert leave.status_code == remove.status_code == 409
        assert leave.json()["code"] == "direct_channel"
        assert conversation.memberships.count() == 2

    def test_nobody_joins(self, world, conversation):
        for user in (world.admin, world.member):
            response = bearer_client(user).post(f"/api/channels/{conversation.pk}/join/")
            assert response.status_code == 409
            assert response.json()["code"] == "direct_channel"
        assert conversation.memberships.count() == 2

    @pytest.mark.parametrize(
        "body", [{"name": "Renamed"}, {"visibility": "public"}, {"description": "Our plans"}]
    )
    def test_it_is_not_renamed_or_made_public(self, world, conversation, body):
        response = bearer_client(world.admin).patch(f"/api/channels/{conversation.pk}/", body, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "direct_channel"
        conversation.refresh_from_db()
        assert (conversation.visibility, conversation.description) == ("private", "")
        put = bearer_client(world.admin).put(f"/api/channels/{conversation.pk}/", body, format="json")
        assert put.status_code == 409

    def test_a_moderator_in_it_may_not_change_it_either(self, world):
        channel, _ = channel_direct_start(creator=world.moderator, user_ids=[world.member.pk])
        client = bearer_client(world.moderator)
        assert client.patch(f"/api/channels/{channel.pk}/", {"name": "x"}, format="json").status_code == 409
        assert client.delete(f"/api/channels/{channel.pk}/").status_code == 403

    def test_admins_delete_it(self, world, conversation):
        assert bearer_client(world.member).delete(f"/api/channels/{conversation.pk}/").status_code == 403
        assert bearer_client(world.admin).delete(f"/api/channels/{conversation.pk}/").status_code == 204
        assert not Channel.objects.filter(pk=conversation.pk).exists()
        assert not Membership.objects.filter(channel_id=conversation.pk).exists()
        # The same people start a new one afterwards.
        assert start(world.member, world.other_member).status_code == 201


class TestWhoSeesIt:
    def test_its_members_list_it(self, world, conversation):
        for user in (world.member, world.other_member):
            assert conversation.slug in _slugs(bearer_client(user).get("/api/channels/"))

    def test_admins_and_moderators_do_not_list_other_peoples_conversations(self, world, conversation):
        for user in (world.admin, world.moderator):
            assert _slugs(bearer_client(user).get("/api/channels/")) == {"general", "secret"}
            assert bearer_client(user).get("/api/channels/", {"kind": "direct"}).json()["count"] == 0

    def test_staff_list_every_conversation(self, world, conversation):
        listed = _slugs(bearer_client(world.staff).get("/api/channels/", {"kind": "direct"}))
        assert listed == {conversation.slug}

    def test_the_kind_filter(self, world, conversation):
        client = bearer_client(world.other_member)
        assert _slugs(client.get("/api/channels/")) == {"general", "secret", conversation.slug}
        assert _slugs(client.get("/api/channels/", {"kind": "channel"})) == {"general", "secret"}
        assert _slugs(client.get("/api/channels/", {"kind": "direct"})) == {conversation.slug}
        assert client.get("/api/channels/", {"kind": "group"}).status_code == 400

    def test_ordinary_channels_say_their_kind(self, world):
        body = bearer_client(world.member).get(f"/api/channels/{world.public_channel.pk}/").json()
        assert body["kind"] == "channel"

    def test_outside_its_members_only_an_admin_reaches_it(self, world, conversation):
        outsider_member = UserFactory(tenant=world.tenant_a)
        for user in (outsider_member, world.moderator):
            client = bearer_client(user)
            assert client.get(f"/api/channels/{conversation.pk}/").status_code == 404
            assert client.get(f"/api/channels/{conversation.pk}/members/").status_code == 404
        assert bearer_client(world.admin).get(f"/api/channels/{conversation.pk}/").status_code == 200


class TestDatabaseConstraints:
    """The invariants hold below the services too."""

    def _direct(self, world, **fields) -> Channel:
        values = {
            "tenant": world.tenant_a,
            "kind": ChannelKind.DIRECT,
            "direct_key": direct_key_for([world.member.pk, world.other_member.pk]),
            "name": "x",
            "slug": f"dm-{uuid.uuid4().hex[:8]}",
            "visibility": "private",
        }
        return Channel.objects.create(**{**values, **fields})

    def test_one_conversation_per_set_of_people(self, world):
        self._direct(world)
        with pytest.raises(IntegrityError), transaction.atomic():
            self._direct(world)
        # The same people in another tenant are other people.
        self._direct(world, tenant=world.tenant_b)

    def test_a_conversation_is_private_and_keyed(self, world):
        with pytest.raises(IntegrityError), transaction.atomic():
            self._direct(world, visibility="public")
        with pytest.raises(IntegrityError), transaction.atomic():
            self._direct(world, direct_key="")
        with pytest.raises(IntegrityError), transaction.atomic():
            Channel.objects.create(tenant=world.tenant_a, name="x", slug="x", direct_key="abc")

    def test_the_key_ignores_order_and_repeats(self, world):
        a, b = world.member.pk, world.other_member.pk
        assert direct_key_for([a, b]) == direct_key_for([b, a, b]) != direct_key_for([a])


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_with_the_same_people_make_one_conversation(world):
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database does not queue concurrent writers")
    barrier = threading.Barrier(4)
    answers: list[tuple[int, str]] = []
    callers = [world.member, world.other_member, world.member, world.other_member]

    def work(caller, other) -> None:
        try:
            barrier.wait()
            response = start(caller, other)
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=work, args=(caller, world.other_member if caller == world.member else world.member)
        )
        for caller in callers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201]
    assert len({channel_id for _, channel_id in answers}) == 1
    assert Channel.objects.direct().count() == 1
    assert Membership.objects.filter(channel__kind=ChannelKind.DIRECT).count() == 2
