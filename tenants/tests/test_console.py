"""Tenants edited in the onboarding console go through the lifecycle services:
audited with the staff user as actor, the chat service told, rules kept."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from streamsync.models import EntityType, OutboxEntry
from tenants.models import Tenant, TenantStatus

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tenants_tenant_add")


def change_url(tenant: Tenant) -> str:
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def events(**filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_a_rename_is_audited_with_the_staff_user(staff_client: Client, world):
    response = staff_client.post(
        change_url(world.tenant_a), {"name": "  Acme Corp ", "status": "active", "calls_enabled": "on"}
    )
    assert response.status_code == 302, response.content
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.name == "Acme Corp"
    [event] = events(target_type="tenant", target_id=str(world.tenant_a.pk))
    assert (event.action, event.actor_id, event.changes) == (
        "tenant.updated",
        world.staff.pk,
        {"name": ["Acme", "Acme Corp"]},
    )


def test_a_suspension_on_the_form_is_audited_and_reaches_every_chat_user(staff_client: Client, world):
    OutboxEntry.objects.all().delete()
    response = staff_client.post(
        change_url(world.tenant_a), {"name": "Acme", "status": "suspended", "calls_enabled": "on"}
    )
    assert response.status_code == 302, response.content
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.status == TenantStatus.SUSPENDED
    [event] = events(target_type="tenant")
    assert (event.action, event.actor_id) == ("tenant.suspended", world.staff.pk)
    queued = set(OutboxEntry.objects.filter(entity_type=EntityType.USER).values_list("entity_id", flat=True))
    assert queued == {str(pk) for pk in world.tenant_a.users.values_list("pk", flat=True)}


def test_a_name_with_a_line_break_is_a_form_error(staff_client: Client, world):
    response = staff_client.post(
        change_url(world.tenant_a), {"name": "Acme\nInc", "status": "active", "calls_enabled": "on"}
    )
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.name == "Acme"
    assert not events(target_type="tenant")


def test_the_slug_is_shown_and_never_changes(staff_client: Client, world):
    page = staff_client.get(change_url(world.tenant_a)).content.decode()
    assert "acme" in page and 'name="slug"' not in page
    response = staff_client.post(
        change_url(world.tenant_a), {"name": "Acme", "slug": "renamed", "status": "active"}
    )
    assert response.status_code == 302, response.content
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.slug == "acme"


def test_a_tenant_added_in_the_console_is_audited(staff_client: Client, world):
    response = staff_client.post(ADD, {"name": "Initech", "slug": "initech", "status": "active"})
    assert response.status_code == 302, response.content
    tenant = Tenant.objects.get(slug="initech")
    [event] = events(target_type="tenant", target_id=str(tenant.pk))
    assert (event.action, event.actor_id) == ("tenant.created", world.staff.pk)


def test_a_tenant_added_suspended_is_suspended_through_the_service(staff_client: Client, world):
    response = staff_client.post(ADD, {"name": "Initech", "slug": "initech", "status": "suspended"})
    assert response.status_code == 302, response.content
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.status == TenantStatus.SUSPENDED
    assert [e.action for e in events(target_id=str(tenant.pk))] == ["tenant.created", "tenant.suspended"]


def test_a_taken_slug_is_a_form_error(staff_client: Client, world):
    response = staff_client.post(ADD, {"name": "Other Acme", "slug": "acme", "status": "active"})
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Tenant.objects.filter(slug="acme").count() == 1


def action_url(tenant: Tenant, action: str) -> str:
    return reverse("admin:tenants_tenant_object_action", args=[tenant.pk, action])


def test_a_tenants_page_offers_its_lifecycle_as_buttons(staff_client: Client, world):
    page = staff_client.get(change_url(world.tenant_a)).content.decode()
    for action in ("suspend", "resync", "export"):
        assert f'id="object-action-{action}"' in page
        assert f'action="{action_url(world.tenant_a, action)}"' in page
    assert 'id="object-action-reactivate"' not in page  # it is active

    response = staff_client.post(action_url(world.tenant_a, "suspend"), follow=True)
    assert response.redirect_chain[-1][0] == change_url(world.tenant_a)
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.status == TenantStatus.SUSPENDED
    assert [e.actor_id for e in events(action="tenant.suspended")] == [world.staff.pk]
    page = response.content.decode()
    assert 'id="object-action-reactivate"' in page and 'id="object-action-suspend"' not in page
    assert world.tenant_b.status == TenantStatus.ACTIVE  # one tenant only

    staff_client.post(action_url(world.tenant_a, "reactivate"))
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.status == TenantStatus.ACTIVE


def test_the_export_button_downloads_the_tenant(staff_client: Client, world):
    response = staff_client.post(action_url(world.tenant_a, "export"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme.jsonl"'
    assert world.member.email in response.content.decode()


def test_the_resync_button_queues_the_tenant_again(staff_client: Client, world):
    OutboxEntry.objects.all().delete()
    response = staff_client.post(action_url(world.tenant_a, "resync"), follow=True)
    assert "to be sent to the chat service again" in response.content.decode()
    queued = OutboxEntry.objects.filter(tenant_id=world.tenant_a.pk)
    assert queued.filter(entity_type=EntityType.USER).exists()
    assert not OutboxEntry.objects.filter(tenant_id=world.tenant_b.pk).exists()


def test_object_actions_are_posted_and_named(staff_client: Client, world):
    assert staff_client.get(action_url(world.tenant_a, "suspend")).status_code == 405
    assert staff_client.post(action_url(world.tenant_a, "delete_selected")).status_code == 404
    # Not signed in to the console: the login page, and nothing changes.
    assert Client().post(action_url(world.tenant_a, "suspend")).status_code == 302
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.status == TenantStatus.ACTIVE


def test_the_add_form_asks_only_what_a_new_tenant_has(staff_client: Client, world):
    page = staff_client.get(ADD).content.decode()
    assert "Chat sync" not in page and "People and channels" not in page
    assert reverse("admin:tenants_tenant_onboard") in page
