"""The set-based helpers of ``chatplatform.db`` that the bulk services write
with: COPY or executemany, batched updates and lookups of any size, on SQLite
and PostgreSQL alike."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from accounts.models import User
from channels_app.models import Membership
from chatplatform import db
from chatplatform.db import rows_insert, rows_update, values_in
from onboarding.models import Invitation
from onboarding.set_password import set_password_links_issue

pytestmark = pytest.mark.django_db


def test_rows_insert_writes_every_column_type(world):
    now = timezone.now()
    ids = [uuid.uuid4() for _ in range(3)]
    count = rows_insert(
        User,
        ("id", "tenant", "email", "full_name", "role", "is_active", "password"),
        [
            (pk, world.tenant_a.pk, f"bulk{n}@acme.test", f"Bülk {n}", "member", n != 1, "!x")
            for n, pk in enumerate(ids)
        ],
        constants={"is_staff": False, "is_superuser": False, "created_at": now, "updated_at": now},
    )
    assert count == 3
    rows = list(
        User.objects.filter(pk__in=ids)
        .order_by("email")
        .values_list("id", "tenant", "full_name", "is_active")
    )
    assert rows == [
        (ids[0], world.tenant_a.pk, "Bülk 0", True),
        (ids[1], world.tenant_a.pk, "Bülk 1", False),
        (ids[2], world.tenant_a.pk, "Bülk 2", True),
    ]
    assert User.objects.get(pk=ids[0]).created_at == now


def test_rows_update_sets_values_per_row_and_constants_on_all(world):
    later = timezone.now()
    rows_update(
        User,
        "id",
        ["full_name", "role"],
        [(world.member.pk, "Renamed", "moderator"), (world.other_member.pk, "Other", "member")],
        constants={"updated_at": later},
    )
    assert sorted(
        User.objects.filter(pk__in=[world.member.pk, world.other_member.pk]).values_list(
            "full_name", "role", "updated_at"
        )
    ) == [("Other", "member", later), ("Renamed", "moderator", later)]
    world.admin.refresh_from_db()
    assert world.admin.updated_at != later


def test_lookups_and_updates_in_several_batches(world, monkeypatch):
    monkeypatch.setattr(db, "LOOKUP_CHUNK", 2)
    monkeypatch.setattr(db, "UNNEST_BATCH", 2)
    monkeypatch.setattr(db, "EXECUTEMANY_BATCH", 2)
    emails = [u.email for u in User.objects.all()] + ["missing@acme.test"] * 3
    found = sorted(values_in(User.objects.all(), "email", emails, "email"))
    assert found == sorted((email,) for email in User.objects.values_list("email", flat=True))
    assert list(values_in(User.objects.all(), "email", [], "email")) == []

    memberships = list(Membership.objects.values_list("id", flat=True))
    rows_update(Membership, "id", ["role"], [(pk, "moderator") for pk in memberships])
    assert set(Membership.objects.values_list("role", flat=True)) == {"moderator"}


def test_set_password_links_write_nothing_and_work_once(world):
    from rest_framework.test import APIClient

    before = Invitation.objects.count()
    links = set_password_links_issue(users=[world.member, world.other_member])
    assert set(links) == {world.member.pk, world.other_member.pk}
    assert Invitation.objects.count() == before
    for url in links.values():
        token = url.rsplit("/", 1)[1]
        body = {"token": token, "password": "a-fine-long-passphrase"}
        assert APIClient().post("/api/invitations/accept", body, format="json").status_code == 201
        again = APIClient().post("/api/invitations/accept", body, format="json")
        assert again.json()["code"] == "link_expired"


def test_fields_left_out_get_their_defaults_and_a_missing_value_is_refused(world):
    before = timezone.now()
    rows_insert(Membership, ("channel", "user"), [(world.private_channel.pk, world.member.pk)])
    membership = Membership.objects.get(channel=world.private_channel, user=world.member)
    assert membership.role == "member"  # the field's default
    assert membership.created_at >= before
    assert membership.updated_at == membership.created_at
    with pytest.raises(ValueError, match=r"User\.password has no shared default"):
        rows_insert(User, ("id", "tenant"), [(uuid.uuid4(), world.tenant_a.pk)])
    with pytest.raises(ValueError, match=r"User\.id has no shared default"):
        rows_insert(User, ("email", "password", "tenant"), [("x@acme.test", "!", world.tenant_a.pk)])


def test_users_changed_in_bulk_are_queued_once_each_across_batches(world, monkeypatch):
    from accounts.signals import users_bulk_changed
    from streamsync import outbox as outbox_module
    from streamsync.models import OutboxEntry

    monkeypatch.setattr(outbox_module, "_ENQUEUE_BATCH", 3)
    OutboxEntry.objects.all().delete()
    users = list(User.objects.filter(tenant=world.tenant_a))
    users_bulk_changed.send(sender=User, tenant_id=world.tenant_a.pk, user_ids=[users[0].pk])
    ids = [u.pk for u in users] + [users[1].pk, str(users[2].pk)]  # repeats, as objects and as text
    users_bulk_changed.send(sender=User, tenant_id=world.tenant_a.pk, user_ids=ids)

    rows = list(OutboxEntry.objects.values_list("entity_type", "entity_id", "tenant_id", "status"))
    assert sorted(rows) == sorted(("user", str(u.pk), world.tenant_a.pk, "pending") for u in users)


def test_lookups_find_values_with_newlines_and_empty_values(world):
    User.objects.filter(pk=world.member.pk).update(full_name="Two\nLines")
    User.objects.filter(pk=world.other_member.pk).update(full_name="")
    found = sorted(values_in(User.objects.all(), "full_name", ["Two\nLines", "nobody"], "email"))
    assert found == [("member@acme.test",)]
    assert list(values_in(User.objects.all(), "full_name", [""], "email")) == [("member2@acme.test",)]
    ids = [world.member.pk, world.admin.pk]
    assert sorted(values_in(User.objects.all(), "id", ids, "email")) == [
        ("admin@acme.test",),
        ("member@acme.test",),
    ]


@pytest.mark.parametrize("ids", [["odd\nid", "plain"], [""]])
def test_enqueue_takes_any_id(world, ids):
    from streamsync.models import EntityType, OutboxEntry
    from streamsync.outbox import enqueue

    OutboxEntry.objects.all().delete()
    enqueue(EntityType.USER, ids, tenant_id=world.tenant_a.pk)
    assert sorted(OutboxEntry.objects.values_list("entity_id", flat=True)) == sorted(ids)
