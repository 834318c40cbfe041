"""The outbox in the admin, and sync state on tenant and user pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from streamsync.models import OutboxEntry, OutboxStatus, SyncState

pytestmark = pytest.mark.django_db


def test_outbox_list_filters_and_retry(staff_client, world):
    row = OutboxEntry.objects.filter(entity_type="user").first()
    OutboxEntry.objects.filter(pk=row.pk).update(
        status=OutboxStatus.DEAD, attempts=3, last_error="HTTP 400: bad user"
    )
    url = reverse("admin:streamsync_outboxentry_changelist")
    page = staff_client.get(url, {"state": "dead"})
    assert page.status_code == 200
    assert "HTTP 400: bad user" in page.content.decode()
    response = staff_client.post(url, {"action": "retry", "_selected_action": [row.pk]}, follow=True)
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)


@pytest.mark.parametrize("state", ["waiting", "failing", "dead", "claimed"])
def test_outbox_filters_render(staff_client, world, state):
    assert (
        staff_client.get(reverse("admin:streamsync_outboxentry_changelist"), {"state": state}).status_code
        == 200
    )


def test_outbox_list_has_one_state_filter_and_counts_entries(staff_client, world):
    OutboxEntry.objects.all().delete()
    page = staff_client.get(reverse("admin:streamsync_outboxentry_changelist")).content.decode()
    assert page.count("By state") == 1
    assert "By status" not in page
    assert "0 outbox entries" in page


def test_tenant_page_shows_sync_state(staff_client, world):
    url = reverse("admin:tenants_tenant_change", args=[world.tenant_a.pk])
    assert "change(s) pending" in staff_client.get(url).content.decode()
    OutboxEntry.objects.filter(tenant_id=world.tenant_a.pk).delete()
    SyncState.objects.create(
        entity_type="user",
        entity_id=str(world.admin.pk),
        tenant_id=world.tenant_a.pk,
        synced_at="2026-01-01T00:00:00Z",
    )
    assert "in sync" in staff_client.get(url).content.decode()


def test_user_page_shows_sync_state(staff_client, world):
    url = reverse("admin:accounts_user_change", args=[world.member.pk])
    OutboxEntry.objects.filter(entity_id=str(world.member.pk)).update(status=OutboxStatus.DEAD)
    assert "dead" in staff_client.get(url).content.decode()
    staff_page = staff_client.get(reverse("admin:accounts_user_change", args=[world.staff.pk]))
    assert "not a chat user" in staff_page.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "admin:tenants_tenant_changelist",
        "admin:accounts_user_changelist",
        "admin:channels_app_channel_changelist",
        "admin:channels_app_membership_changelist",
        "admin:streamsync_syncstate_changelist",
        "admin:streamsync_webhookevent_changelist",
        "admin:tenants_tenant_add",
        "admin:accounts_user_add",
    ],
)
def test_admin_pages_render(staff_client, world, name):
    assert staff_client.get(reverse(name)).status_code == 200


def test_tenant_change_page_lists_users_and_channels(staff_client, world):
    page = staff_client.get(reverse("admin:tenants_tenant_change", args=[world.tenant_a.pk])).content.decode()
    assert world.admin.email in page and "#general" in page and "All 4 users" in page
