"""A mail that cannot be sent never loses what was committed: the invitation (or
the onboarded organization) stays, its link is still given to whoever asked,
and the answer says the mail did not go out."""

from __future__ import annotations

import logging
import smtplib

import pytest
from django.core import mail

from conftest import bearer_client
from onboarding.models import Invitation
from tenants.models import Tenant

# Real commits: mail goes out after commit, and the answer reports what happened.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broken_mail(monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)


def test_an_invitation_survives_a_mail_failure_and_says_so(world, broken_mail, caplog):
    with caplog.at_level(logging.ERROR, logger="onboarding.mail"):
        response = bearer_client(world.admin).post(
            "/api/invitations/", {"email": "newbie@acme.test"}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mail_sent"] is False
    assert "/invite/" in body["url"]
    assert Invitation.objects.filter(pk=body["id"], email="newbie@acme.test").exists()
    assert any("not sent" in record.getMessage() for record in caplog.records)


def test_an_invitation_says_when_its_mail_went_out(world):
    response = bearer_client(world.admin).post(
        "/api/invitations/", {"email": "newbie@acme.test"}, format="json"
    )
    assert response.json()["mail_sent"] is True
    assert len(mail.outbox) == 1


def test_a_mail_that_breaks_on_its_headers_is_a_failure_not_a_500(world, monkeypatch):
    # A name that slipped past validation (an old row) must not turn into a 500 after commit.
    Tenant.objects.filter(pk=world.tenant_a.pk).update(name="Acme\r\nBcc: victim@example.test")
    response = bearer_client(world.admin).post(
        "/api/invitations/", {"email": "newbie@acme.test"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["mail_sent"] is False
    assert Invitation.objects.filter(email="newbie@acme.test").exists()


def test_the_console_keeps_the_link_when_the_onboarding_mail_fails(client, world, broken_mail):
    world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    response = client.post(
        "/admin/tenants/tenant/onboard/",
        {
            "name": "Initech",
            "slug": "",
            "admin_email": "p@initech.test",
            "admin_name": "Peter",
            "channels": "",
        },
        follow=True,
    )
    page = response.content.decode()
    assert Tenant.objects.filter(slug="initech").exists()
    assert "id='admin-link'" in page and "/invite/" in page
    assert "was not sent" in page
