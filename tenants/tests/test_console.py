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
    response = staff_client.post(change_url(world.tenant_a), {"name": "  Acme Corp ", "status": "active"})
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
    response = staff_client.post(change_url(world.tenant_a), {"name": "Acme", "status": "suspended"})
    assert response.status_code == 302, response.content
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.status == TenantStatus.SUSPENDED
    [event] = events(target_type="tenant")
    assert (event.action, event.actor_id) == ("tenant.suspended", world.staff.pk)
    queued = set(OutboxEntry.objects.filter(entity_type=EntityType.USER).values_list("entity_id", flat=True))
    assert queued == {str(pk) for pk in world.tenant_a.users.values_list("pk", flat=True)}


def test_a_name_with_a_line_break_is_a_form_error(staff_client: Client, world):
    response = staff_client.post(change_url(world.tenant_a), {"name": "Acme\nInc", "status": "active"})
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
