"""Invitations and set-password links: API, the page they open, one-time use, expiry, revoke."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_create
from conftest import bearer_client
from onboarding.models import Invitation
from onboarding.set_password import set_password_links_issue, set_password_url
from tenants.services import tenant_suspend

pytestmark = pytest.mark.django_db

PASSWORD = "a-fine-long-passphrase"


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _invite(client, **body):
    body.setdefault("email", "newbie@acme.test")
    return client.post("/api/invitations/", body, format="json")


def _accept(token: str, **body):
    return APIClient().post(
        "/api/invitations/accept", {"token": token, "password": PASSWORD, **body}, format="json"
    )


class TestCreate:
    def test_admin_invites_with_role_and_channels(self, world, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = _invite(
                bearer_client(world.admin), role="moderator", channels=["general"], full_name="New Bie"
            )
        assert response.status_code == 201
        body = response.json()
        assert (body["role"], body["status"], body["channels"]) == ("moderator", "pending", ["general"])
        assert body["url"].startswith(f"{django_settings.SITE_URL}/invite/")
        assert len(mail.outbox) == 1 and body["url"] in mail.outbox[0].body
        assert mail.outbox[0].to == ["newbie@acme.test"]
        # Only a digest is stored.
        assert _token(body["url"]) not in str(Invitation.objects.values_list("token_hash", flat=True))

    def test_the_url_is_shown_once(self, world):
        invitation_id = _invite(bearer_client(world.admin)).json()["id"]
        assert "url" not in bearer_client(world.admin).get(f"/api/invitations/{invitation_id}/").json()

    def test_moderator_invites_members_only(self, world):
        client = bearer_client(world.moderator)
        assert _invite(client).status_code == 201
        response = _invite(client, email="boss@acme.test", role="admin")
        assert response.status_code == 403
        assert response.json()["code"] == "role_not_allowed"

    def test_member_cannot_invite(self, world):
        assert _invite(bearer_client(world.member)).status_code == 403

    def test_unknown_channel_and_taken_email(self, world):
        response = _invite(bearer_client(world.admin), channels=["general", "nope"])
        assert response.status_code == 400
        assert response.json()["fields"]["channels"] == ["No such channel in this tenant: nope"]
        assert _invite(bearer_client(world.admin), email=world.member.email).json()["code"] == "email_taken"
        assert not Invitation.objects.exists()

    def test_staff_names_the_tenant(self, world):
        client = bearer_client(world.staff)
        assert _invite(client).status_code == 400
        assert _invite(client, tenant=str(world.tenant_b.pk)).json()["tenant"] == str(world.tenant_b.pk)

    def test_another_tenants_invitation_is_not_found(self, world):
        invitation_id = _invite(bearer_client(world.outsider), email="x@globex.test").json()["id"]
        for call in (
            lambda c: c.get(f"/api/invitations/{invitation_id}/"),
            lambda c: c.post(f"/api/invitations/{invitation_id}/revoke/"),
        ):
            assert call(bearer_client(world.admin)).status_code == 404
        listed = bearer_client(world.admin).get("/api/invitations/").json()["results"]
        assert invitation_id not in {i["id"] for i in listed}

    def test_reinviting_revokes_the_older_link(self, world):
        first = _invite(bearer_client(world.admin)).json()
        second = _invite(bearer_client(world.admin)).json()
        assert _accept(_token(first["url"])).json()["code"] == "invitation_revoked"
        assert _accept(_token(second["url"])).status_code == 201


class TestAccept:
    def test_accepting_creates_the_user_with_role_and_channels(self, world):
        url = _invite(bearer_client(world.admin), role="moderator", channels=["general", "secret"]).json()[
            "url"
        ]
        response = _accept(_token(url), full_name="New Bie")
        assert response.status_code == 201
        user = User.objects.get(email="newbie@acme.test")
        assert (user.tenant_id, user.role, user.full_name) == (world.tenant_a.pk, "moderator", "New Bie")
        assert user.check_password(PASSWORD)
        assert set(user.memberships.values_list("channel__slug", flat=True)) == {"general", "secret"}
        login = APIClient().post(
            "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
        )
        assert login.status_code == 200

    def test_a_link_works_once(self, world):
        url = _invite(bearer_client(world.admin)).json()["url"]
        assert _accept(_token(url)).status_code == 201
        again = _accept(_token(url))
        assert again.status_code == 400
        assert again.json()["code"] == "invitation_accepted"

    def test_expired_revoked_and_garbage_links(self, world):
        client = bearer_client(world.admin)
        expired = _invite(client, email="old@acme.test").json()
        Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert _accept(_token(expired["url"])).json()["code"] == "invitation_expired"
        revoked = _invite(client, email="gone@acme.test").json()
        assert client.post(f"/api/invitations/{revoked['id']}/revoke/").json()["status"] == "revoked"
        assert client.post(f"/api/invitations/{revoked['id']}/revoke/").status_code == 409
        assert _accept(_token(revoked["url"])).json()["code"] == "invitation_revoked"
        assert _accept("not-a-token").json()["code"] == "invalid_invitation"
        assert not User.objects.filter(email__in=["old@acme.test", "gone@acme.test"]).exists()

    def test_weak_password_is_refused_and_the_link_still_works(self, world):
        url = _invite(bearer_client(world.admin)).json()["url"]
        weak = APIClient().post(
            "/api/invitations/accept", {"token": _token(url), "password": "123"}, format="json"
        )
        assert weak.status_code == 400
        assert weak.json()["fields"]["password"]
        assert _accept(_token(url)).status_code == 201

    def test_suspended_tenant(self, world):
        url = _invite(bearer_client(world.admin)).json()["url"]
        tenant_suspend(tenant=world.tenant_a)
        assert _accept(_token(url)).json()["code"] == "tenant_suspended"

    def test_set_password_link_for_an_existing_account(self, world):
        user = user_create(tenant=world.tenant_a, email="imported@acme.test", full_name="Imp")
        assert not user.has_usable_password()
        [url] = set_password_links_issue(users=[user]).values()
        response = _accept(_token(url))
        assert response.status_code == 201
        user.refresh_from_db()
        assert user.check_password(PASSWORD)
        assert User.objects.filter(email="imported@acme.test").count() == 1

    def test_list_filters_by_status(self, world):
        client = bearer_client(world.admin)
        pending = _invite(client, email="p@acme.test").json()
        done = _invite(client, email="d@acme.test").json()
        _accept(_token(done["url"]))
        statuses = {i["email"]: i["status"] for i in client.get("/api/invitations/").json()["results"]}
        assert statuses == {"p@acme.test": "pending", "d@acme.test": "accepted"}
        only_pending = client.get("/api/invitations/", {"status": "pending"}).json()["results"]
        assert [i["id"] for i in only_pending] == [pending["id"]]

    def test_each_status_filter_finds_what_the_status_says(self, world):
        from datetime import timedelta

        from django.utils import timezone

        from onboarding.models import Invitation, InvitationStatus

        client = bearer_client(world.admin)
        for email in ("pending@acme.test", "accepted@acme.test", "revoked@acme.test", "expired@acme.test"):
            _invite(client, email=email)
        now = timezone.now()
        invitations = Invitation.objects.filter(tenant=world.tenant_a)
        invitations.filter(email="accepted@acme.test").update(accepted_at=now, revoked_at=now)
        invitations.filter(email="revoked@acme.test").update(
            revoked_at=now, expires_at=now - timedelta(days=1)
        )
        invitations.filter(email="expired@acme.test").update(expires_at=now - timedelta(days=1))
        for status in InvitationStatus:
            found = client.get("/api/invitations/", {"status": status}).json()["results"]
            assert [(i["email"], i["status"]) for i in found] == [(f"{status}@acme.test", status)]


class TestPage:
    def test_the_page_sets_the_password(self, world, client):
        user = user_create(tenant=world.tenant_a, email="first-admin@acme.test", role="admin")
        url = set_password_url(user)
        path = url.replace(django_settings.SITE_URL, "")
        page = client.get(path)
        assert page.status_code == 200 and "Set your password" in page.content.decode()
        mismatch = client.post(path, {"password": PASSWORD, "password_again": "other"})
        assert "The two passwords differ." in mismatch.content.decode()
        weak = client.post(path, {"password": "123", "password_again": "123"})
        assert "too short" in weak.content.decode()
        done = client.post(path, {"password": PASSWORD, "password_again": PASSWORD})
        assert 'id="done"' in done.content.decode()
        assert '<a id="sign-in" class="button" href="/login">Sign in</a>' in done.content.decode()
        user.refresh_from_db()
        assert user.check_password(PASSWORD)
        assert "expired or has already been used" in client.get(path).content.decode()

    def test_accepting_an_invitation_on_the_page_ends_with_the_sign_in_link(self, world, client):
        url = _invite(bearer_client(world.admin)).json()["url"]
        path = url.replace(django_settings.SITE_URL, "")
        page = client.get(path).content.decode()
        assert "Join Acme" in page and 'id="sign-in"' not in page
        done = client.post(path, {"full_name": "New Bie", "password": PASSWORD, "password_again": PASSWORD})
        html = done.content.decode()
        assert "newbie@acme.test" in html and "Acme" in html
        assert '<a id="sign-in" class="button" href="/login">Sign in</a>' in html

    def test_the_page_counts_attempts_per_client_address_like_the_api(self, world, client, settings):
        settings.LOGIN_IP_RATE = "3/3600"  # a window no test run straddles
        url = _invite(bearer_client(world.admin)).json()["url"]
        path = url.replace("http://127.0.0.1:8000", "")
        for _ in range(2):
            client.post("/invite/guessed-token", {"password": PASSWORD, "password_again": PASSWORD})
        _accept("another-guess")  # the API's attempts are the same count
        form = {"full_name": "New Bie", "password": PASSWORD, "password_again": PASSWORD}
        refused = client.post(path, form)
        assert refused.status_code == 429
        assert re.search(
            r"Too many sign-in attempts\. Wait (a minute|\d+ minutes) and try again\.",
            refused.content.decode(),
        )
        assert not User.objects.filter(email="newbie@acme.test").exists()

    def test_bad_link_page(self, client):
        response = client.get("/invite/nothing-here")
        assert response.status_code == 400
        assert "This link is not valid." in response.content.decode()


class TestSetPasswordLinks:
    def test_expire_after_invitation_days(self, world, monkeypatch, settings):
        import time

        user = user_create(tenant=world.tenant_a, email="late@acme.test")
        token = _token(set_password_url(user))
        later = time.time() + settings.INVITATION_DAYS * 24 * 3600 + 60
        monkeypatch.setattr("onboarding.set_password.time.time", lambda: later)
        assert _accept(token).json()["code"] == "link_expired"

    def test_a_tampered_token_is_refused(self, world):
        user = user_create(tenant=world.tenant_a, email="tamper@acme.test")
        token = _token(set_password_url(user))
        other = user_create(tenant=world.tenant_a, email="other@acme.test")
        forged = token.replace(token.split(".")[1], _token(set_password_url(other)).split(".")[1])
        assert _accept(forged).json()["code"] == "link_expired"
        # (Another ending than its own: one token in 256 ends in "00" already.)
        tampered = token[:-2] + ("11" if token.endswith("00") else "00")
        assert _accept(tampered).json()["code"] == "link_expired"
        assert _accept("p.garbage").json()["code"] == "invalid_invitation"

    def test_survive_a_secret_key_rotation(self, world, settings):
        user = user_create(tenant=world.tenant_a, email="rotate@acme.test")
        token = _token(set_password_url(user))
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a-brand-new-secret-key-for-this-test-0123456789"
        assert _accept(token).status_code == 201

    def test_deactivated_account_cannot_use_its_link(self, world):
        user = user_create(tenant=world.tenant_a, email="gone@acme.test")
        token = _token(set_password_url(user))
        user.is_active = False
        user.save()
        assert _accept(token).json()["code"] == "user_inactive"
