"""An address with an account in another tenant (or a staff account) is not
revealed to a tenant admin: an invitation to it looks like any other, its mail
tells the owner instead, and a direct create answers exactly as for an address
taken in the caller's own tenant."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import User
from conftest import bearer_client
from onboarding.models import Invitation

pytestmark = pytest.mark.django_db

PASSWORD = "a-fine-long-passphrase"


def _invite(client, email):
    return client.post("/api/invitations/", {"email": email}, format="json")


@pytest.mark.parametrize("owner", ["outsider", "staff"])
def test_inviting_an_address_taken_elsewhere_looks_like_any_invitation(
    world, owner, django_capture_on_commit_callbacks
):
    address = world.by_role(owner).email
    with django_capture_on_commit_callbacks(execute=True):
        taken = _invite(bearer_client(world.admin), address)
        fresh = _invite(bearer_client(world.admin), "nobody-yet@acme.test")
    assert taken.status_code == fresh.status_code == 201
    assert set(taken.json()) == set(fresh.json())
    assert taken.json()["status"] == "pending"
    assert Invitation.objects.filter(email=address, tenant=world.tenant_a).exists()
    # The owner hears of it, with no link: the account they have stays as it is.
    to_owner = next(message for message in mail.outbox if message.to == [address])
    assert "/invite/" not in to_owner.body
    assert "already have an account" in to_owner.body


def test_the_link_of_such_an_invitation_changes_nothing(world):
    url = _invite(bearer_client(world.admin), world.outsider.email).json()["url"]
    response = bearer_client(None).post(
        "/api/invitations/accept", {"token": url.rsplit("/", 1)[1], "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_invitation"
    world.outsider.refresh_from_db()
    assert world.outsider.tenant_id == world.tenant_b.pk
    assert not world.outsider.check_password(PASSWORD)


def test_inviting_an_address_of_ones_own_tenant_still_says_email_taken(world):
    response = _invite(bearer_client(world.admin), world.member.email)
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"


def test_a_direct_create_refuses_both_alike(world):
    client = bearer_client(world.admin)
    mine = client.post("/api/users/", {"email": world.member.email}, format="json")
    elsewhere = client.post("/api/users/", {"email": world.outsider.email}, format="json")
    staff = client.post("/api/users/", {"email": world.staff.email}, format="json")
    assert mine.status_code == elsewhere.status_code == staff.status_code == 400
    assert mine.json() == elsewhere.json() == staff.json()
    assert mine.json()["code"] == "email_taken"
    assert "exists" not in mine.json()["detail"]
    assert User.objects.filter(email=world.outsider.email).get().tenant_id == world.tenant_b.pk


def test_the_invitation_page_of_such_a_link_says_it_is_not_valid(world, client):
    url = _invite(bearer_client(world.admin), world.outsider.email).json()["url"]
    page = client.get(f"/invite/{url.rsplit('/', 1)[1]}").content.decode()
    assert "This link is not valid." in page
