"""Users written in bulk: the rows, and the one "changed in bulk" signal that
queues each of them for the chat service in the same transaction."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.bulk import NewUser, UserUpdate, users_bulk_create, users_bulk_update
from accounts.models import User
from accounts.tests.test_sessions import refresh_token_of, refreshes, signed_in
from streamsync.models import EntityType, OutboxEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_outbox(world):
    """An empty outbox, so a test sees the rows its own change writes."""
    OutboxEntry.objects.all().delete()


def queued_users() -> list[tuple[str, uuid.UUID]]:
    return sorted(
        OutboxEntry.objects.filter(entity_type=EntityType.USER).values_list("entity_id", "tenant_id")
    )


def test_created_users_are_written_and_queued_once_each_with_their_tenant(world, no_outbox):
    users = [
        NewUser(uuid.uuid4(), world.tenant_a.pk, "new-a@acme.test", "New A", "member"),
        NewUser(uuid.uuid4(), world.tenant_b.pk, "new-b@globex.test", "New B", "moderator"),
    ]
    users_bulk_create(users=users, now=timezone.now())

    created = User.objects.get(email="new-a@acme.test")
    assert (created.tenant_id, created.full_name, created.role) == (world.tenant_a.pk, "New A", "member")
    assert not created.has_usable_password()
    assert queued_users() == sorted((str(user.pk), user.tenant_id) for user in users)


def test_a_refused_create_queues_nothing(world, no_outbox):
    taken = NewUser(uuid.uuid4(), world.tenant_a.pk, world.member.email, "", "member")
    with pytest.raises(IntegrityError), transaction.atomic():
        users_bulk_create(users=[taken], now=timezone.now())
    assert queued_users() == []


def test_updates_write_the_fields_and_queue_only_those_users(world, no_outbox):
    update = UserUpdate(world.member.pk, world.tenant_a.pk, "Renamed", "moderator", is_active=True)
    users_bulk_update(updates=[update], now=timezone.now())

    world.member.refresh_from_db()
    assert (world.member.full_name, world.member.role) == ("Renamed", "moderator")
    assert queued_users() == [(str(world.member.pk), world.tenant_a.pk)]


def test_an_update_leaves_the_fields_it_is_not_given(world, no_outbox):
    update = UserUpdate(world.member.pk, world.tenant_a.pk, "Renamed", "admin", is_active=False)
    users_bulk_update(updates=[update], fields=("full_name", "role"), now=timezone.now())

    world.member.refresh_from_db()
    assert (world.member.full_name, world.member.role, world.member.is_active) == ("Renamed", "admin", True)
    with pytest.raises(ValueError, match="cannot change password"):
        users_bulk_update(updates=[update], fields=("full_name", "password"), now=timezone.now())


def test_a_deactivation_in_bulk_ends_the_sessions(world):
    browser = signed_in(world.member)
    update = UserUpdate(world.member.pk, world.tenant_a.pk, world.member.full_name, "member", is_active=False)
    users_bulk_update(updates=[update], now=timezone.now())
    assert refreshes(refresh_token_of(browser)) == 401
