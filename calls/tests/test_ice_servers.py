"""``GET /api/calls/ice-servers`` and the organization's calls switch."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from audit.models import AuditEvent
from calls.ice import turn_credential

URL = "/api/calls/ice-servers"
SECRET = "turn-shared-secret-for-tests"


@pytest.fixture
def turn(settings):
    settings.CALLS_STUN_URLS = ["stun:127.0.0.1:3478"]
    settings.CALLS_TURN_URLS = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
    settings.CALLS_TURN_SECRET = SECRET
    settings.CALLS_TURN_TTL = 600
    return settings


def test_anonymous_is_refused(api_client, world):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_no_servers_configured_means_host_candidates_only(client_for, world):
    response = client_for(world.member).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "ice_servers": [],
        "ttl": 3600,
        "ice_transport_policy": "all",
        "max_participants": 4,
    }
    assert response["Cache-Control"] == "no-store"


def test_turn_credentials_are_what_a_turn_server_checks(client_for, world, turn):
    before = int(time.time())
    body = client_for(world.member).get(URL).json()
    stun, relay = body["ice_servers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    assert relay["urls"] == turn.CALLS_TURN_URLS
    expiry, user_id = relay["username"].split(":", 1)
    # The user id is the one the chat service knows; the expiry is ttl from now.
    assert user_id == world.member.chat_user_id
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    # coturn (use-auth-secret): base64(HMAC-SHA1(static-auth-secret, username)).
    expected = base64.b64encode(hmac.new(SECRET.encode(), relay["username"].encode(), hashlib.sha1).digest())
    assert relay["credential"] == expected.decode()
    assert body["ttl"] == 600


def test_each_user_gets_a_credential_of_its_own(client_for, world, turn):
    mine = client_for(world.member).get(URL).json()["ice_servers"][1]
    theirs = client_for(world.outsider).get(URL).json()["ice_servers"][1]
    assert mine["username"].split(":", 1)[1] != theirs["username"].split(":", 1)[1]
    assert mine["credential"] != theirs["credential"]


def test_a_credential_expires_after_its_ttl():
    credential = turn_credential(user_id="u-1", secret=SECRET, ttl=60, now=1_000_000)
    assert credential.username == "1000060:u-1"
    assert credential.expires_at == 1_000_060


def test_a_tenant_that_turned_calls_off_gets_no_servers(client_for, world, turn):
    world.tenant_a.calls_enabled = False
    world.tenant_a.save()
    response = client_for(world.member).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "calls_disabled"
    # Another organization's switch is its own.
    assert client_for(world.outsider).get(URL).status_code == 200


def test_staff_without_an_organization_have_no_calls(client_for, world):
    response = client_for(world.staff).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "no_tenant"


def test_a_deactivated_user_or_suspended_tenant_is_refused(client_for, world):
    world.member.is_active = False
    world.member.save()
    assert client_for(world.member).get(URL).status_code == 401
    world.tenant_b.status = "suspended"
    world.tenant_b.save()
    assert client_for(world.outsider).get(URL).status_code in (401, 403)


def test_me_says_whether_calls_are_on(client_for, world, settings):
    settings.CALLS_MAX_PARTICIPANTS = 3
    assert client_for(world.member).get("/api/auth/me").json()["calls"] == {
        "enabled": True,
        "max_participants": 3,
    }
    world.tenant_a.calls_enabled = False
    world.tenant_a.save()
    assert client_for(world.member).get("/api/auth/me").json()["calls"]["enabled"] is False
    assert client_for(world.staff).get("/api/auth/me").json()["calls"]["enabled"] is False


@pytest.mark.parametrize("actor", ["admin", "staff"])
def test_a_tenant_admin_or_staff_turns_calls_off_and_it_is_audited(client_for, world, actor):
    response = client_for(world.by_role(actor)).patch(
        f"/api/tenants/{world.tenant_a.pk}/", {"calls_enabled": False}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["calls_enabled"] is False
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.calls_enabled is False
    event = AuditEvent.objects.filter(action="tenant.updated").latest("created_at")
    assert event.changes == {"calls_enabled": [True, False]}


@pytest.mark.parametrize("actor", ["moderator", "member"])
def test_moderators_and_members_cannot_turn_calls_off(client_for, world, actor):
    response = client_for(world.by_role(actor)).patch(
        f"/api/tenants/{world.tenant_a.pk}/", {"calls_enabled": False}, format="json"
    )
    assert response.status_code == 403
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.calls_enabled is True


def test_another_tenants_admin_cannot_turn_our_calls_off(client_for, world):
    response = client_for(world.outsider).patch(
        f"/api/tenants/{world.tenant_a.pk}/", {"calls_enabled": False}, format="json"
    )
    assert response.status_code == 404
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.calls_enabled is True


def test_the_console_turns_calls_off_through_the_service(staff_client, world):
    url = f"/admin/tenants/tenant/{world.tenant_a.pk}/change/"
    page = staff_client.get(url)
    assert b'name="calls_enabled"' in page.content
    response = staff_client.post(url, {"name": world.tenant_a.name, "status": "active"})
    assert response.status_code == 302, response.content[:2000]
    world.tenant_a.refresh_from_db()
    assert world.tenant_a.calls_enabled is False
    assert AuditEvent.objects.filter(action="tenant.updated").exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"CALLS_ICE_TRANSPORT_POLICY": "sometimes"}, "calls.E001"),
        ({"CALLS_TURN_URLS": ["turn:127.0.0.1"], "CALLS_TURN_SECRET": ""}, "calls.E002"),
        ({"CALLS_ICE_TRANSPORT_POLICY": "relay"}, "calls.E003"),
        ({"CALLS_MAX_PARTICIPANTS": 1}, "calls.E004"),
    ],
)
def test_settings_that_could_never_connect_a_call_fail_the_checks(settings, overrides, error):
    for name, value in overrides.items():
        setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=error):
        call_command("check")
