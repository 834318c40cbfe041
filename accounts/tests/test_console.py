"""Users edited in the onboarding console (the Django admin) go through the same
services as the API: the same rules, an audit event by the staff user, and an
outbox row, all in one transaction. A refusal is a form error or an admin
message, never a 500 and never a silent success."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from streamsync.models import EntityType, OutboxEntry
from tenants.roles import Role

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
ADD = reverse("admin:accounts_user_add")
NEW_PASSWORD = "a-brand-new-long-passphrase"


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def change_form(user: User, **overrides: object) -> dict[str, object]:
    """What the change page posts for ``user`` as it stands (a checkbox left out is unchecked)."""
    data: dict[str, object] = {"email": user.email, "full_name": user.full_name, "role": user.role}
    for flag in ("is_active", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def events(**filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


@pytest.fixture
def no_outbox(world):
    """An empty outbox, so a test sees the rows its own change writes."""
    OutboxEntry.objects.all().delete()


def pending_user_rows(user: User) -> int:
    return OutboxEntry.objects.filter(entity_type=EntityType.USER, entity_id=str(user.pk)).count()


class TestLastAdmin:
    """Tenant A has one active admin (world.admin)."""

    def test_demoting_the_last_admin_is_a_form_error(self, staff_client: Client, world):
        response = staff_client.post(change_url(world.admin), change_form(world.admin, role="member"))
        assert response.status_code == 200
        assert "last active admin" in response.content.decode()
        world.admin.refresh_from_db()
        assert (world.admin.role, world.admin.is_active) == (Role.ADMIN, True)
        assert not events(action="user.role_changed")

    def test_deactivating_the_last_admin_is_a_form_error(self, staff_client: Client, world):
        response = staff_client.post(change_url(world.admin), change_form(world.admin, is_active=None))
        assert response.status_code == 200
        assert "last active admin" in response.content.decode()
        world.admin.refresh_from_db()
        assert world.admin.is_active
        assert world.admin.sessions_revoked_at is None

    def test_deleting_the_last_admin_is_refused_with_a_message(self, staff_client: Client, world):
        url = reverse("admin:accounts_user_delete", args=[world.admin.pk])
        assert staff_client.get(url).status_code == 200
        response = staff_client.post(url, {"post": "yes"})
        assert response.status_code == 302
        assert response["Location"] == change_url(world.admin)
        assert any("last active admin" in message for message in messages_of(response))
        assert User.objects.filter(pk=world.admin.pk).exists()
        assert not events(action="user.deleted")

    def test_delete_selected_keeps_the_last_admin_and_deletes_nothing(self, staff_client: Client, world):
        response = staff_client.post(
            CHANGELIST,
            {
                "action": "delete_selected",
                "_selected_action": [str(world.admin.pk), str(world.other_member.pk)],
                "post": "yes",
            },
        )
        assert response.status_code == 302
        assert any("last active admin" in message for message in messages_of(response))
        assert User.objects.filter(pk__in=[world.admin.pk, world.other_member.pk]).count() == 2
        assert not events(action="user.deleted")

    def test_with_a_second_admin_the_first_can_be_demoted(self, staff_client: Client, world):
        world.moderator.role = Role.ADMIN
        world.moderator.save()
        response = staff_client.post(change_url(world.admin), change_form(world.admin, role="member"))
        assert response.status_code == 302, response.content
        world.admin.refresh_from_db()
        assert world.admin.role == Role.MEMBER


class TestAuditAndOutbox:
    def test_a_role_change_is_audited_with_the_staff_user_and_queued(
        self, staff_client: Client, world, no_outbox
    ):
        response = staff_client.post(change_url(world.member), change_form(world.member, role="moderator"))
        assert response.status_code == 302, response.content
        [event] = events(target_id=str(world.member.pk))
        assert (event.action, event.actor_id, event.tenant_id) == (
            "user.role_changed",
            world.staff.pk,
            world.tenant_a.pk,
        )
        assert event.changes == {"role": ["member", "moderator"]}
        assert pending_user_rows(world.member) == 1

    def test_an_unchanged_form_writes_nothing(self, staff_client: Client, world, no_outbox):
        response = staff_client.post(change_url(world.member), change_form(world.member))
        assert response.status_code == 302, response.content
        assert not events(target_id=str(world.member.pk))

    def test_a_deactivation_is_audited_queued_and_ends_sessions(self, staff_client: Client, world, no_outbox):
        response = staff_client.post(change_url(world.member), change_form(world.member, is_active=None))
        assert response.status_code == 302, response.content
        [event] = events(target_id=str(world.member.pk))
        assert (event.action, event.actor_email) == ("user.deactivated", world.staff.email)
        world.member.refresh_from_db()
        assert world.member.sessions_revoked_at is not None
        assert pending_user_rows(world.member) == 1

    def test_an_email_change_is_normalized_audited_and_queued(self, staff_client: Client, world, no_outbox):
        response = staff_client.post(
            change_url(world.member), change_form(world.member, email="Renamed@Acme.test")
        )
        assert response.status_code == 302, response.content
        world.member.refresh_from_db()
        assert world.member.email == "renamed@acme.test"
        [event] = events(target_id=str(world.member.pk))
        assert event.changes == {"email": ["member@acme.test", "renamed@acme.test"]}
        assert pending_user_rows(world.member) == 1

    def test_a_user_added_in_the_console_is_audited_and_queued(self, staff_client: Client, world, no_outbox):
        response = staff_client.post(
            ADD,
            {
                "email": "New@Acme.test",
                "full_name": "New Person",
                "tenant": str(world.tenant_a.pk),
                "role": "moderator",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302, response.content
        user = User.objects.get(email="new@acme.test")
        assert (user.tenant_id, user.role) == (world.tenant_a.pk, Role.MODERATOR)
        assert user.check_password(NEW_PASSWORD)
        [event] = events(target_id=str(user.pk))
        assert (event.action, event.actor_id) == ("user.created", world.staff.pk)
        assert pending_user_rows(user) == 1

    def test_a_user_without_a_tenant_or_staff_status_is_a_form_error(self, staff_client: Client, world):
        response = staff_client.post(
            ADD,
            {
                "email": "loose@acme.test",
                "full_name": "Loose",
                "role": "member",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 200
        assert "tenant" in response.context["adminform"].form.errors
        assert not User.objects.filter(email="loose@acme.test").exists()

    def test_a_password_set_in_the_console_is_audited(self, staff_client: Client, world, no_outbox):
        url = reverse("admin:auth_user_password_change", args=[world.member.pk])
        response = staff_client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert response.status_code == 302, response.content
        world.member.refresh_from_db()
        assert world.member.check_password(NEW_PASSWORD)
        [event] = events(target_id=str(world.member.pk))
        assert (event.action, event.actor_id, event.changes) == (
            "user.password_changed",
            world.staff.pk,
            {"password": ["***", "***"]},
        )
        assert pending_user_rows(world.member) == 1  # the chat service revokes its old tokens

    def test_delete_selected_goes_through_the_service(self, staff_client: Client, world, no_outbox):
        selected = [world.member, world.other_member]
        response = staff_client.post(
            CHANGELIST,
            {"action": "delete_selected", "_selected_action": [str(u.pk) for u in selected], "post": "yes"},
        )
        assert response.status_code == 302
        assert not User.objects.filter(pk__in=[u.pk for u in selected]).exists()
        deleted = events(action="user.deleted")
        assert sorted(e.target_id for e in deleted) == sorted(str(u.pk) for u in selected)
        assert {e.actor_id for e in deleted} == {world.staff.pk}
        assert all(pending_user_rows(user) == 1 for user in selected)

    def test_a_single_delete_goes_through_the_service(self, staff_client: Client, world, no_outbox):
        url = reverse("admin:accounts_user_delete", args=[world.member.pk])
        response = staff_client.post(url, {"post": "yes"})
        assert response.status_code == 302
        assert not User.objects.filter(pk=world.member.pk).exists()
        [event] = events(action="user.deleted")
        assert (event.target_id, event.actor_id) == (str(world.member.pk), world.staff.pk)
        assert pending_user_rows(world.member) == 1


class TestRules:
    def test_staff_cannot_deactivate_themselves(self, staff_client: Client, world):
        response = staff_client.post(change_url(world.staff), change_form(world.staff, is_active=None))
        assert response.status_code == 200
        assert "You cannot deactivate yourself." in response.content.decode()
        world.staff.refresh_from_db()
        assert world.staff.is_active

    def test_a_name_with_a_line_break_is_a_form_error(self, staff_client: Client, world):
        response = staff_client.post(
            change_url(world.member), change_form(world.member, full_name="Eve\r\nBcc: all@acme.test")
        )
        assert response.status_code == 200
        assert "full_name" in response.context["adminform"].form.errors
        world.member.refresh_from_db()
        assert world.member.full_name != "Eve\r\nBcc: all@acme.test"

    def test_a_taken_email_is_a_form_error(self, staff_client: Client, world):
        response = staff_client.post(
            change_url(world.member), change_form(world.member, email=world.outsider.email)
        )
        assert response.status_code == 200
        assert "email" in response.context["adminform"].form.errors
        world.member.refresh_from_db()
        assert world.member.email == "member@acme.test"

    def test_staff_status_and_tenant_are_fixed_once_created(self, staff_client: Client, world):
        """Staff have no tenant and everyone else has one, which never changes: so
        neither changes on the change page, whatever is posted."""
        page = staff_client.get(change_url(world.member)).content.decode()
        assert 'name="is_staff"' not in page and 'name="tenant"' not in page
        response = staff_client.post(
            change_url(world.member),
            change_form(world.member, is_staff="on", tenant=str(world.tenant_b.pk)),
        )
        assert response.status_code == 302, response.content
        world.member.refresh_from_db()
        assert (world.member.is_staff, world.member.tenant_id) == (False, world.tenant_a.pk)

    def test_only_staff_accounts_can_be_superusers(self, staff_client: Client, world):
        assert 'name="is_superuser"' not in staff_client.get(change_url(world.member)).content.decode()
        response = staff_client.post(change_url(world.member), change_form(world.member, is_superuser="on"))
        assert response.status_code == 302, response.content
        world.member.refresh_from_db()
        assert not world.member.is_superuser

    def test_a_superuser_grant_to_staff_is_audited(self, staff_client: Client, world):
        other = User.objects.create_user("ops@platform.test", NEW_PASSWORD, is_staff=True)
        response = staff_client.post(change_url(other), change_form(other, is_superuser="on"))
        assert response.status_code == 302, response.content
        other.refresh_from_db()
        assert other.is_superuser
        [event] = events(target_id=str(other.pk))
        assert (event.action, event.changes) == ("user.updated", {"is_superuser": [False, True]})

    def test_staff_cannot_drop_their_own_superuser_status(self, staff_client: Client, world):
        response = staff_client.post(change_url(world.staff), change_form(world.staff, is_superuser=None))
        assert response.status_code == 200
        assert "You cannot change your own" in response.content.decode()
        world.staff.refresh_from_db()
        assert world.staff.is_superuser
