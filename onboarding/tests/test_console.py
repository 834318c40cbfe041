"""The onboarding console (Django admin) and the tenant lifecycle around it."""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from channels_app.models import Channel
from streamsync.models import OutboxEntry
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

ONBOARD = "/admin/tenants/tenant/onboard/"


def _form(**overrides):
    data = {
        "name": "Initech",
        "slug": "",
        "admin_email": "Peter@Initech.test",
        "admin_name": "Peter Gibbons",
        "channels": "General, Random, TPS Reports",
    }
    data.update(overrides)
    return data


class TestOnboard:
    def test_success_creates_everything_and_lands_on_the_tenant_page(
        self, staff_client, world, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(ONBOARD, _form(), follow=True)
        assert response.status_code == 200
        tenant = Tenant.objects.get(slug="initech")
        assert response.redirect_chain[-1][0] == reverse("admin:tenants_tenant_change", args=[tenant.pk])
        admin = User.objects.get(email="peter@initech.test")
        assert (admin.tenant_id, admin.role, admin.full_name) == (tenant.pk, "admin", "Peter Gibbons")
        assert not admin.has_usable_password()
        channels = Channel.objects.filter(tenant=tenant)
        assert sorted(channels.values_list("slug", flat=True)) == ["general", "random", "tps-reports"]
        assert all(c.memberships.filter(user=admin).exists() for c in channels)
        page = response.content.decode()
        assert "id='admin-link'" in page and "/invite/" in page
        assert "peter@initech.test" in page and "#tps-reports" in page  # what was created
        assert "change(s) pending" in page  # its sync state
        assert "tenant.created" in page  # its recent audit events
        assert len(mail.outbox) == 1 and "/invite/" in mail.outbox[0].body
        assert OutboxEntry.objects.filter(tenant_id=tenant.pk).count() >= 7
        assert AuditEvent.objects.filter(tenant_id=tenant.pk, actor_id=world.staff.pk).exists()

    def test_the_link_lets_the_admin_set_a_password(self, staff_client, world, client):
        response = staff_client.post(ONBOARD, _form(), follow=True)
        link = response.content.decode().split("id='admin-link'>")[1].split("<")[0]
        path = link.replace(django_settings.SITE_URL, "")
        staff_client.logout()
        done = client.post(
            path,
            {
                "password": "peter-has-a-case-of-the-mondays",
                "password_again": "peter-has-a-case-of-the-mondays",
            },
        )
        assert 'id="done"' in done.content.decode()
        assert User.objects.get(email="peter@initech.test").check_password("peter-has-a-case-of-the-mondays")

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"name": ""}, "name", "This field is required."),
            ({"slug": "Bad Slug"}, "slug", "Use lowercase letters"),
            ({"slug": "acme"}, "slug", "A tenant with this slug already exists."),
            ({"admin_email": "not-an-email"}, "admin_email", "Enter a valid email address."),
            (
                {"admin_email": "admin@globex.test"},
                "admin_email",
                "This email address cannot be used for a new account.",
            ),
            ({"admin_name": ""}, "admin_name", "This field is required."),
            ({"channels": ",".join(f"c{i}" for i in range(21))}, "channels", "At most 20 default channels."),
        ],
    )
    def test_each_validation_error_shows_and_nothing_is_created(
        self, staff_client, world, overrides, field, message
    ):
        before = (
            Tenant.objects.count(),
            User.objects.count(),
            Channel.objects.count(),
            AuditEvent.objects.count(),
        )
        response = staff_client.post(ONBOARD, _form(**overrides))
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert field in errors, errors
        assert any(message in e for e in errors[field])
        after = (
            Tenant.objects.count(),
            User.objects.count(),
            Channel.objects.count(),
            AuditEvent.objects.count(),
        )
        assert after == before

    def test_only_staff_with_permission_can_onboard(self, client, world):
        client.force_login(world.admin)  # a tenant admin is not platform staff
        response = client.get(ONBOARD)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]

    def test_changelist_links_to_the_console(self, staff_client, world):
        page = staff_client.get(reverse("admin:tenants_tenant_changelist")).content.decode()
        assert 'id="onboard-link"' in page and ONBOARD in page


class TestLifecycleInTheAdmin:
    def test_suspend_and_reactivate_actions(self, staff_client, world):
        url = reverse("admin:tenants_tenant_changelist")
        staff_client.post(url, {"action": "suspend", "_selected_action": [world.tenant_a.pk]})
        world.tenant_a.refresh_from_db()
        assert world.tenant_a.status == "suspended"
        assert AuditEvent.objects.filter(action="tenant.suspended", tenant_id=world.tenant_a.pk).count() == 1
        staff_client.post(url, {"action": "reactivate", "_selected_action": [world.tenant_a.pk]})
        world.tenant_a.refresh_from_db()
        assert world.tenant_a.status == "active"

    def test_status_change_on_the_form_goes_through_the_service(self, staff_client, world):
        url = reverse("admin:tenants_tenant_change", args=[world.tenant_a.pk])
        response = staff_client.post(url, {"name": "Acme", "status": "suspended", "calls_enabled": "on"})
        assert response.status_code == 302
        assert AuditEvent.objects.filter(action="tenant.suspended").count() == 1
        assert OutboxEntry.objects.filter(entity_id=str(world.member.pk)).exists()

    def test_resync_queues_the_whole_tenant(self, staff_client, world):
        OutboxEntry.objects.all().delete()
        staff_client.post(
            reverse("admin:tenants_tenant_changelist"),
            {"action": "resync", "_selected_action": [world.tenant_a.pk]},
        )
        kinds = set(
            OutboxEntry.objects.filter(tenant_id=world.tenant_a.pk).values_list("entity_type", flat=True)
        )
        assert kinds == {"user", "channel", "channel_members"}
        assert OutboxEntry.objects.filter(entity_type="user").count() == 4

    def test_delete_needs_the_slug_typed_in(self, staff_client, world):
        url = reverse("admin:tenants_tenant_delete", args=[world.tenant_b.pk])
        page = staff_client.get(url).content.decode()
        assert "<strong>2</strong> users" in page and "Type the tenant" in page
        wrong = staff_client.post(url, {"slug": "acme"})
        assert "not this tenant" in wrong.content.decode()
        assert Tenant.objects.filter(pk=world.tenant_b.pk).exists()
        done = staff_client.post(url, {"slug": "globex"})
        assert done.status_code == 302
        assert not Tenant.objects.filter(pk=world.tenant_b.pk).exists()
        assert AuditEvent.objects.filter(action="tenant.deleted", tenant_id=world.tenant_b.pk).count() == 1
        assert OutboxEntry.objects.filter(entity_id=str(world.outsider.pk), entity_type="user").exists()

    def test_bulk_delete_is_not_offered(self, staff_client, world):
        page = staff_client.get(reverse("admin:tenants_tenant_changelist")).content.decode()
        assert "delete_selected" not in page


class TestInvitationsInTheAdmin:
    """An invitation changes only through its service: revoked (audited, the record
    kept), never edited or deleted."""

    def test_revoke_is_audited_and_delete_is_not_offered(self, staff_client, world):
        from onboarding.invitations import invitation_create

        invitation = invitation_create(
            tenant=world.tenant_a, invited_by=world.admin, email="new@acme.test", send=False
        ).invitation
        delete = reverse("admin:onboarding_invitation_delete", args=[invitation.pk])
        assert staff_client.post(delete, {"post": "yes"}).status_code == 403
        changelist = reverse("admin:onboarding_invitation_changelist")
        assert "delete_selected" not in staff_client.get(changelist).content.decode()
        staff_client.post(changelist, {"action": "revoke", "_selected_action": [str(invitation.pk)]})
        invitation.refresh_from_db()
        assert invitation.revoked_at is not None
        event = AuditEvent.objects.get(action="invitation.revoked")
        assert event.actor_id == world.staff.pk


class TestCommands:
    def test_tenant_delete_needs_yes(self, world, capsys):
        call_command("tenant_delete", "globex")
        out = capsys.readouterr().out
        assert "Would delete Globex (globex): 2 users, 1 channels, 1 memberships" in out
        assert Tenant.objects.filter(slug="globex").exists()
        call_command("tenant_delete", "globex", "--yes")
        assert not Tenant.objects.filter(slug="globex").exists()
        event = AuditEvent.objects.get(action="tenant.deleted")
        assert (event.tenant_slug, event.actor_id) == ("globex", None)

    def test_tenant_delete_unknown(self, world):
        with pytest.raises(CommandError, match="No tenant"):
            call_command("tenant_delete", "nope", "--yes")

    def test_user_export(self, world, capsys, tmp_path):
        from conftest import bearer_client

        bearer_client(world.admin).patch(
            f"/api/users/{world.member.pk}/", {"full_name": "Mary Q"}, format="json"
        )
        call_command("user_export", world.member.email.upper())
        data = json.loads(capsys.readouterr().out)
        assert data["user"]["email"] == world.member.email
        assert data["tenant"]["slug"] == "acme"
        assert [m["channel"] for m in data["memberships"]] == ["general"]
        assert any(
            e["action"] == "user.updated" and e["changes"]["full_name"][1] == "Mary Q"
            for e in data["audit_events"]
        )
        text = json.dumps(data)
        assert world.member.password not in text and "md5$" not in text
        call_command("user_export", world.member.email, "--output", str(tmp_path / "out.json"))
        assert json.loads((tmp_path / "out.json").read_text())["user"]["id"] == str(world.member.pk)
        assert AuditEvent.objects.filter(action="export.user", target_id=str(world.member.pk)).count() == 2

    def test_user_export_unknown(self, world):
        with pytest.raises(CommandError, match="No user"):
            call_command("user_export", "ghost@nowhere.test")


class TestOnboardWithUsers:
    def _csv(self, text: str):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return SimpleUploadedFile("users.csv", text.encode(), content_type="text/csv")

    def test_csv_users_are_created_in_the_default_channels_and_get_links(
        self, staff_client, world, django_capture_on_commit_callbacks
    ):
        csv = (
            "email,full_name,role,channels\n"
            "sam@initech.test,Sam,moderator,\n"
            "nina@initech.test,Nina,,general:moderator\n"
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(ONBOARD, {**_form(), "users_csv": self._csv(csv)}, follow=True)
        assert response.status_code == 200
        tenant = Tenant.objects.get(slug="initech")
        sam = User.objects.get(email="sam@initech.test")
        assert (sam.tenant_id, sam.role) == (tenant.pk, "moderator")
        general = Channel.objects.get(tenant=tenant, slug="general")
        assert general.memberships.get(user__email="nina@initech.test").role == "moderator"
        assert general.memberships.filter(user=sam).exists()
        assert Channel.objects.get(tenant=tenant, slug="random").memberships.count() == 3
        assert sorted(m.to[0] for m in mail.outbox) == [
            "nina@initech.test",
            "peter@initech.test",
            "sam@initech.test",
        ]
        assert "2 more user(s)" in response.content.decode()

    def test_one_bad_row_creates_nothing_and_names_every_bad_line(self, staff_client, world):
        before = (Tenant.objects.count(), User.objects.count())
        csv = (
            "email,full_name,role,channels\n"
            "ok@initech.test,Ok,,\n"
            "not-an-email,Bad,,\n"
            f"{world.member.email},Taken,,\n"
            "lost@initech.test,Lost,,nowhere\n"
        )
        response = staff_client.post(ONBOARD, {**_form(), "users_csv": self._csv(csv)})
        errors = response.context["form"].errors["users_csv"]
        assert [e.split(":")[0] for e in errors] == ["line 3", "line 4", "line 5"]
        assert "nowhere" in errors[2]
        assert (Tenant.objects.count(), User.objects.count()) == before

    def test_a_file_without_the_header_is_refused(self, staff_client, world):
        response = staff_client.post(ONBOARD, {**_form(), "users_csv": self._csv("just,some,text\n")})
        assert "users_csv" in response.context["form"].errors
        assert not Tenant.objects.filter(slug="initech").exists()


def test_export_action_downloads_the_tenant(staff_client, world):
    response = staff_client.post(
        reverse("admin:tenants_tenant_changelist"),
        {"action": "export", "_selected_action": [world.tenant_a.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme.jsonl"'
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert lines[0]["type"] == "tenant" and lines[0]["slug"] == "acme"
    assert {line["email"] for line in lines if line["type"] == "user"} == {
        world.admin.email,
        world.moderator.email,
        world.member.email,
        world.other_member.email,
    }
    assert "password" not in response.content.decode()
    assert AuditEvent.objects.filter(action="export.tenant", tenant_id=world.tenant_a.pk).count() == 1


def test_export_action_takes_one_tenant(staff_client, world):
    response = staff_client.post(
        reverse("admin:tenants_tenant_changelist"),
        {"action": "export", "_selected_action": [world.tenant_a.pk, world.tenant_b.pk]},
        follow=True,
    )
    assert "Export one tenant at a time." in response.content.decode()
