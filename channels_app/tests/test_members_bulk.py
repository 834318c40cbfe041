"""Adding members in bulk: a fixed number of queries, counts the database keeps,
and concurrent adds that answer as a single one would."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.services import user_delete
from accounts.tests.factories import UserFactory
from channels_app.models import Channel, ChannelRole, Membership
from channels_app.services import channel_members_add
from conftest import bearer_client

pytestmark = pytest.mark.django_db


def _add(client, channel, user_ids, role="member"):
    return client.post(
        f"/api/channels/{channel.pk}/members/",
        {"user_ids": [str(uid) for uid in user_ids], "role": role},
        format="json",
    )


def _add_queries(client, channel, user_ids) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = _add(client, channel, user_ids)
    assert response.status_code == 201, response.content
    return len(ctx.captured_queries)


def test_adding_members_runs_the_same_queries_for_one_or_a_hundred(world):
    """Authenticate, the channel (with its tenant), the transaction's savepoint and
    release, the users, the channel's row lock, the existing members, one insert,
    its outbox row and the audit event: no query per member, no re-read after."""
    client = bearer_client(world.admin)
    one = [UserFactory(tenant=world.tenant_a).pk]
    hundred = [UserFactory(tenant=world.tenant_a).pk for _ in range(100)]
    assert _add_queries(client, world.public_channel, one) == 10
    assert _add_queries(client, world.private_channel, hundred) == 10


def test_creating_a_channel_runs_the_same_queries_for_its_members(world):
    client = bearer_client(world.admin)

    def created(n: int) -> int:
        ids = [str(UserFactory(tenant=world.tenant_a).pk) for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/channels/", {"name": f"Room {n}", "member_ids": ids}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["member_count"] == n + 1  # the creator moderates it
        return len(ctx.captured_queries)

    # Answered from what was written (no re-read), the insert without a savepoint of its own.
    assert created(1) == created(100) == 10


@pytest.mark.parametrize("creator", ["admin", "staff"])
@pytest.mark.parametrize("members", [0, 3])
def test_the_answer_to_a_create_is_the_channel_as_read_back(world, creator, members):
    """The answer is built from the rows written; it must be what reading the
    channel shows, the creator's own membership included (staff join no channel)."""
    actor = world.admin if creator == "admin" else world.staff
    client = bearer_client(actor)
    ids = [str(UserFactory(tenant=world.tenant_a).pk) for _ in range(members)]
    body = {"name": "Answered", "member_ids": ids, "description": "d", "visibility": "private"}
    if creator == "staff":
        body["tenant"] = str(world.tenant_a.pk)
    response = client.post("/api/channels/", body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["member_count"] == members + (creator == "admin")
    assert answer["is_member"] is (creator == "admin")
    assert client.get(f"/api/channels/{answer['id']}/").json() == answer


def test_the_answer_lists_every_named_user_in_order_with_their_membership(world):
    client = bearer_client(world.admin)
    newcomer = UserFactory(tenant=world.tenant_a)
    before = world.public_channel.memberships.get(user=world.member)
    body = _add(client, world.public_channel, [newcomer.pk, world.member.pk, newcomer.pk], "moderator").json()
    assert [(m["user"]["id"], m["role"]) for m in body] == [
        (str(newcomer.pk), "moderator"),
        (str(world.member.pk), "moderator"),
    ]
    listed = client.get(f"/api/channels/{world.public_channel.pk}/members/").json()["results"]
    assert sorted(body, key=lambda m: m["user"]["id"]) == sorted(listed, key=lambda m: m["user"]["id"])
    assert body[1]["created_at"] == before.created_at.isoformat().replace("+00:00", "Z")


def test_adding_existing_members_in_their_role_changes_nothing(world):
    client = bearer_client(world.admin)
    before = world.public_channel.memberships.get(user=world.member)
    body = _add(client, world.public_channel, [world.member.pk]).json()
    after = world.public_channel.memberships.get(user=world.member)
    assert (after.role, after.updated_at) == (before.role, before.updated_at)
    assert body[0]["updated_at"] == before.updated_at.isoformat().replace("+00:00", "Z")


class TestMemberCount:
    """``member_count`` is kept by the database, whoever writes memberships."""

    def _count(self, channel: Channel) -> int:
        return Channel.objects.get(pk=channel.pk).member_count

    def test_follows_adds_joins_removals_and_deletions(self, world):
        channel = world.public_channel
        assert self._count(channel) == 1
        users = [UserFactory(tenant=world.tenant_a) for _ in range(3)]
        channel_members_add(channel=channel, user_ids=[u.pk for u in users])
        assert self._count(channel) == 4
        channel_members_add(channel=channel, user_ids=[users[0].pk], role=ChannelRole.MODERATOR)
        assert self._count(channel) == 4  # a role change is no new member
        assert bearer_client(world.other_member).post(f"/api/channels/{channel.pk}/join").status_code == 201
        assert self._count(channel) == 5
        response = bearer_client(world.admin).delete(f"/api/channels/{channel.pk}/members/{users[1].pk}")
        assert response.status_code == 204
        assert self._count(channel) == 4
        user_delete(user=users[2])  # its memberships go in the cascade
        assert self._count(channel) == 3
        Membership.objects.filter(channel=channel).delete()
        assert self._count(channel) == 0

    def test_counting_reads_the_channels_written_to_not_the_channel_table(self, world):
        """Flat in the number of channels: the triggers update each channel a
        statement touched by its key, never by a scan of every channel."""
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL's statement triggers")
        Channel.objects.bulk_create(
            Channel(tenant=world.tenant_a, name=f"Room {n}", slug=f"room-{n}") for n in range(300)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE channels_app_channel")
        users = [UserFactory(tenant=world.tenant_a) for _ in range(100)]
        others = list(Channel.objects.filter(tenant=world.tenant_a, slug__in=["room-1", "room-2"]))

        def channel_scans() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'channels_app_channel'"
                )
                return cursor.fetchone()[0]

        before = channel_scans()
        channel_members_add(channel=world.public_channel, user_ids=[u.pk for u in users])
        Membership.objects.bulk_create(Membership(channel=c, user=u) for c in others for u in users[:3])
        Membership.objects.filter(user__in=users[50:]).delete()
        assert channel_scans() == before
        assert self._count(world.public_channel) == 51
        assert [self._count(c) for c in others] == [3, 3]

    def test_a_stale_instance_saved_later_does_not_write_its_count_back(self, world):
        stale = Channel.objects.get(pk=world.public_channel.pk)
        channel_members_add(channel=world.public_channel, user_ids=[world.other_member.pk])
        stale.description = "renamed while members joined"
        stale.save()
        assert self._count(world.public_channel) == 2

    def test_lists_show_it(self, world):
        channel_members_add(channel=world.public_channel, user_ids=[world.other_member.pk])
        listed = bearer_client(world.admin).get("/api/channels/").json()["results"]
        assert {c["slug"]: c["member_count"] for c in listed} == {"general": 2, "secret": 1}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_adds_of_one_user_both_succeed(world):
    """The second add waits for the first and then finds the user a member (it
    used to insert it again and answer 500 on the unique constraint)."""
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database does not queue concurrent writers")
    channel, user = world.public_channel, UserFactory(tenant=world.tenant_a)
    first_written, first_may_commit = threading.Event(), threading.Event()
    answers: list[tuple[int, object]] = []

    def first() -> None:
        try:
            with transaction.atomic():
                channel_members_add(channel=channel, user_ids=[user.pk])
                first_written.set()
                first_may_commit.wait()
        finally:
            connection.close()

    def second() -> None:
        try:
            response = _add(bearer_client(world.admin), channel, [user.pk], "moderator")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    first_written.wait()
    threads[1].start()
    with connection.cursor() as cursor:  # until the second add waits on the first's locks
        while True:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
    first_may_commit.set()
    for thread in threads:
        thread.join()
    [(status, body)] = answers
    assert status == 201, body
    assert [(m["user"]["id"], m["role"]) for m in body] == [(str(user.pk), "moderator")]
    assert Membership.objects.get(channel=channel, user=user).role == "moderator"
    assert Channel.objects.get(pk=channel.pk).member_count == 2
