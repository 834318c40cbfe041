"""Every page of the onboarding console renders for platform staff: each
registered model's list (plain, searched, sorted by each column, filtered by
each filter choice), its add page, and the change, history and delete pages
of one of its objects. A 500 on any of them fails here first."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from audit.services import audit_record
from channels_app.models import Channel
from channels_app.services import channel_direct_start
from onboarding.invitations import invitation_create
from streamsync.models import OutboxEntry, SyncState, WebhookEvent

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def console(staff_client: Client, world) -> Client:
    """Staff signed in, with at least one row of every kind the console lists."""
    audit_record(
        action="tenant.updated", target_type="tenant", target_id=world.tenant_a.pk, tenant=world.tenant_a
    )
    invitation_create(tenant=world.tenant_a, invited_by=world.admin, email="new@acme.test", send=False)
    assert OutboxEntry.objects.exists()
    SyncState.objects.create(
        entity_type="user",
        entity_id=str(world.member.pk),
        tenant_id=world.tenant_a.pk,
        synced_at=timezone.now(),
    )
    WebhookEvent.objects.create(
        webhook_id="w-1", event_type="message.new", team="acme", payload={"type": "message.new"}
    )
    RefreshToken.for_user(world.member).blacklist()
    Group.objects.create(name="Support")
    channel_direct_start(creator=world.member, user_ids=[world.other_member.pk])
    return staff_client


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_list_renders_searched_sorted_and_filtered(console: Client, model):
    changelist = _url(model, "changelist")
    page = console.get(changelist)
    assert page.status_code == 200
    queries = {"q=zz%27%22%3C"}  # a search with quotes and markup
    html = page.content.decode()
    # The links of the sort headers and of every filter choice, as the page offers them.
    queries.update(re.findall(r'href="\?([^"]+)"', html))
    for query in sorted(queries):
        query = query.replace("&amp;", "&")
        response = console.get(f"{changelist}?{query}")
        assert response.status_code in (200, 302), f"{changelist}?{query}: {response.status_code}"


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_every_add_change_history_and_delete_page_renders(console: Client, model):
    model_admin = admin.site._registry[model]
    add = console.get(_url(model, "add"))
    assert add.status_code in (200, 403)
    obj = model_admin.get_queryset(console.get(_url(model, "changelist")).wsgi_request).first()
    if obj is None:
        pytest.skip(f"no {model._meta.verbose_name} in the test world")
    for view in ("change", "history", "delete"):
        response = console.get(_url(model, view, obj.pk))
        assert response.status_code in (200, 403), f"{view} of {model._meta.label}: {response.status_code}"


def test_a_direct_conversation_shows_its_members_and_changes_nothing_but_its_deletion(console: Client):
    conversation = Channel.objects.direct().get()
    page = console.get(_url(Channel, "change", conversation.pk)).content.decode()
    assert conversation.name in page
    assert 'name="name"' not in page  # named after its members
    assert 'name="visibility"' not in page
    assert 'name="memberships-0-user"' not in page  # members shown, not editable
    assert 'name="memberships-MAX_NUM_FORMS" value="0"' in page  # and none added
    assert console.get(_url(Channel, "delete", conversation.pk)).status_code == 200
    membership = conversation.memberships.first()
    assert console.get(_url(type(membership), "delete", membership.pk)).status_code == 403


def test_every_console_write_of_users_tenants_channels_and_memberships_goes_through_services():
    """Their admins save and delete only through ``ServiceModelAdmin``'s hooks,
    which the apps implement with their services (see ``chatplatform.console``)."""
    from accounts.models import User
    from channels_app.models import Membership
    from chatplatform.console import ServiceModelAdmin
    from tenants.models import Tenant

    for model in (User, Tenant, Channel, Membership):
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, ServiceModelAdmin), model
        for hook in ("service_create", "service_update", "service_delete"):
            assert getattr(type(model_admin), hook) is not getattr(ServiceModelAdmin, hook), (model, hook)
        for inline in model_admin.inlines:
            assert type(model_admin).save_formset is not admin.ModelAdmin.save_formset, (model, inline)
