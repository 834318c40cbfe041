"""Each audited action writes exactly one event with the right fields; tenant
admins see only their tenant's events; the log cannot be rewritten."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from rest_framework.test import APIClient

from audit.models import AppendOnlyError, AuditEvent
from conftest import bearer_client

pytestmark = pytest.mark.django_db


def _new_events(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("id")[before:])


def _only_event(call) -> AuditEvent:
    before = AuditEvent.objects.count()
    response = call()
    assert response.status_code < 400, response.content
    events = _new_events(before)
    assert len(events) == 1, [e.action for e in events]
    return events[0]


def test_ip_ignores_forwarded_header_without_trusted_proxies(world):
    event = _only_event(
        lambda: bearer_client(world.admin).post(
            "/api/users/",
            {"email": "new@acme.test", "full_name": "New", "role": "member"},
            format="json",
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR="192.0.2.66",
        )
    )
    assert event.ip == "203.0.113.9"


def test_ip_from_trusted_proxy_must_be_an_address(world, settings):
    from django.conf import settings as django_settings

    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    event = _only_event(
        lambda: bearer_client(world.admin).post(
            "/api/users/",
            {"email": "new@acme.test", "full_name": "New", "role": "member"},
            format="json",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="not-an-address",
        )
    )
    # A malformed header from a misbehaving proxy is not stored as an address.
    assert event.ip == "10.0.0.1"


def test_user_created(world):
    event = _only_event(
        lambda: bearer_client(world.admin).post(
            "/api/users/",
            {"email": "new@acme.test", "full_name": "New", "role": "moderator"},
            format="json",
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_REQUEST_ID="req-123",
        )
    )
    assert event.action == "user.created"
    assert (event.tenant_id, event.tenant_slug) == (world.tenant_a.pk, "acme")
    assert (event.actor_id, event.actor_email) == (world.admin.pk, world.admin.email)
    assert (event.target_type, event.target_repr) == ("user", "new@acme.test")
    assert event.changes["email"] == [None, "new@acme.test"]
    assert event.changes["role"] == [None, "moderator"]
    assert (event.ip, event.request_id) == ("203.0.113.9", "req-123")


@pytest.mark.parametrize(
    ("body", "action", "field"),
    [
        ({"role": "moderator"}, "user.role_changed", "role"),
        ({"is_active": False}, "user.deactivated", "is_active"),
        ({"full_name": "Renamed"}, "user.updated", "full_name"),
        ({"password": "a-brand-new-passphrase"}, "user.password_changed", "password"),
    ],
)
def test_user_updates(world, body, action, field):
    event = _only_event(
        lambda: bearer_client(world.admin).patch(f"/api/users/{world.member.pk}/", body, format="json")
    )
    assert event.action == action
    assert list(event.changes) == [field]
    if field == "password":
        assert event.changes["password"] == ["***", "***"]
        assert "passphrase" not in str(event.changes)
    else:
        assert event.changes[field][1] == body[field]


def test_no_op_update_writes_nothing(world):
    before = AuditEvent.objects.count()
    bearer_client(world.admin).patch(
        f"/api/users/{world.member.pk}/", {"full_name": world.member.full_name}, format="json"
    )
    assert AuditEvent.objects.count() == before


def test_user_deleted(world):
    event = _only_event(lambda: bearer_client(world.admin).delete(f"/api/users/{world.other_member.pk}/"))
    assert (event.action, event.target_id) == ("user.deleted", str(world.other_member.pk))
    assert event.changes["email"] == [world.other_member.email, None]


def test_tenant_lifecycle(world):
    staff = bearer_client(world.staff)
    created = _only_event(lambda: staff.post("/api/tenants/", {"name": "Initech"}, format="json"))
    assert (created.action, created.tenant_slug, created.actor_email) == (
        "tenant.created",
        "initech",
        world.staff.email,
    )
    url = f"/api/tenants/{world.tenant_a.pk}"
    assert _only_event(lambda: staff.patch(url, {"name": "Acme 2"}, format="json")).changes == {
        "name": ["Acme", "Acme 2"]
    }
    suspended = _only_event(lambda: staff.post(f"{url}/suspend"))
    assert (suspended.action, suspended.changes) == ("tenant.suspended", {"status": ["active", "suspended"]})
    assert _only_event(lambda: staff.post(f"{url}/reactivate")).action == "tenant.reactivated"
    deleted = _only_event(lambda: staff.delete(f"/api/tenants/{world.tenant_b.pk}"))
    assert (deleted.action, deleted.tenant_id) == ("tenant.deleted", world.tenant_b.pk)
    # The record outlives the tenant.
    assert AuditEvent.objects.filter(tenant_id=world.tenant_b.pk, action="tenant.deleted").exists()


def test_channel_actions(world):
    admin = bearer_client(world.admin)
    created = _only_event(
        lambda: admin.post(
            "/api/channels/", {"name": "Ops", "member_ids": [str(world.member.pk)]}, format="json"
        )
    )
    assert (created.action, created.target_repr) == ("channel.created", "#ops")
    assert created.changes["members"] == [None, 2]
    channel_id = created.target_id
    assert _only_event(
        lambda: admin.patch(f"/api/channels/{channel_id}/", {"name": "Operations"}, format="json")
    ).changes == {"name": ["Ops", "Operations"]}
    added = _only_event(
        lambda: admin.post(
            f"/api/channels/{channel_id}/members/", {"user_ids": [str(world.other_member.pk)]}, format="json"
        )
    )
    assert added.action == "channel.members_added"
    assert added.changes["members"] == [None, [str(world.other_member.pk)]]
    removed = _only_event(
        lambda: admin.delete(f"/api/channels/{channel_id}/members/{world.other_member.pk}/")
    )
    assert removed.action == "channel.member_removed"
    joined = _only_event(lambda: bearer_client(world.other_member).post(f"/api/channels/{channel_id}/join/"))
    assert (joined.action, joined.actor_id) == ("channel.member_joined", world.other_member.pk)
    assert _only_event(lambda: admin.delete(f"/api/channels/{channel_id}/")).action == "channel.deleted"


def test_login_lockout_is_audited_once(world, settings):
    settings.LOGIN_FAILURE_RATE = "3/300"
    before = AuditEvent.objects.count()
    for _ in range(3):
        APIClient().post("/api/auth/login", {"email": world.member.email, "password": "x"}, format="json")
    APIClient().post(
        "/api/auth/login", {"email": world.member.email, "password": "x"}, format="json"
    )  # throttled
    events = _new_events(before)
    assert [e.action for e in events] == ["auth.lockout"]
    assert (events[0].tenant_id, events[0].target_repr, events[0].actor_id) == (
        world.tenant_a.pk,
        world.member.email,
        None,
    )


def test_admins_see_only_their_tenants_events(world):
    bearer_client(world.admin).patch(f"/api/users/{world.member.pk}/", {"full_name": "A"}, format="json")
    bearer_client(world.outsider).patch(
        f"/api/users/{world.outsider_member.pk}/", {"full_name": "B"}, format="json"
    )
    mine = bearer_client(world.admin).get("/api/audit-events/").json()
    assert mine["count"] >= 1
    assert {e["tenant"] for e in mine["results"]} == {str(world.tenant_a.pk)}
    theirs = bearer_client(world.outsider).get("/api/audit-events/").json()["results"]
    assert {e["tenant"] for e in theirs} == {str(world.tenant_b.pk)}
    everything = bearer_client(world.staff).get("/api/audit-events/", {"page_size": 200}).json()["results"]
    assert {str(world.tenant_a.pk), str(world.tenant_b.pk)} <= {e["tenant"] for e in everything}


def test_filters(world):
    admin = bearer_client(world.admin)
    admin.patch(f"/api/users/{world.member.pk}/", {"role": "moderator"}, format="json")
    admin.post("/api/channels/", {"name": "X"}, format="json")
    assert {e["action"] for e in admin.get("/api/audit-events/", {"action": "user."}).json()["results"]} == {
        "user.role_changed"
    }
    assert admin.get("/api/audit-events/", {"action": "channel.created"}).json()["count"] == 1
    assert admin.get("/api/audit-events/", {"actor": str(world.admin.pk)}).json()["count"] == 2
    assert admin.get("/api/audit-events/", {"since": "not-a-date"}).status_code == 400


def test_the_log_cannot_be_rewritten(world):
    event = AuditEvent.objects.create(action="user.updated", target_type="user")
    event.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="x")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'x'")
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent")


def test_the_api_reads_every_kind_of_event(world, tmp_path):
    """Whatever wrote an event (a view, an import, an export, a lockout), the
    audit API reads it back in the documented ``{field: [old, new]}`` shape."""
    from onboarding.tests.helpers import run_command

    admin = bearer_client(world.admin)
    admin.post("/api/users/", {"email": "new@acme.test", "full_name": "New", "role": "member"}, format="json")
    admin.patch(f"/api/users/{world.member.pk}/", {"password": "a-brand-new-passphrase"}, format="json")
    admin.post("/api/channels/", {"name": "Ops"}, format="json")
    admin.post("/api/invitations/", {"email": "invitee@acme.test", "role": "member"}, format="json")
    users = tmp_path / "users.csv"
    users.write_text("email,full_name,role,channels\nann@acme.test,Ann,member,\n")
    assert run_command("import_users", "--tenant", "acme", "--no-links", str(users)).code == 0
    assert run_command("export_tenant", "acme", "--output", str(tmp_path / "acme.jsonl")).code == 0
    assert run_command("user_export", world.member.email, "--output", str(tmp_path / "me.json")).code == 0
    bearer_client(world.staff).post(f"/api/tenants/{world.tenant_a.pk}/suspend")

    response = bearer_client(world.staff).get("/api/audit-events/", {"page_size": 100})

    assert response.status_code == 200, response.content
    events = response.json()["results"]
    assert {
        "user.created",
        "user.password_changed",
        "channel.created",
        "invitation.created",
        "import.users",
        "export.tenant",
        "export.user",
        "tenant.suspended",
    } <= {event["action"] for event in events}
    for event in events:
        assert all(isinstance(pair, list) and len(pair) == 2 for pair in event["changes"].values()), event
    imported = next(event for event in events if event["action"] == "import.users")
    assert imported["changes"]["created"] == [None, 1]


def test_events_recorded_with_bare_values_read_as_pairs(world):
    # Events are append-only: ones written before every writer used pairs stay as they are.
    AuditEvent.objects.create(
        tenant_id=world.tenant_a.pk, action="import.users", target_type="tenant", changes={"created": 3}
    )
    response = bearer_client(world.admin).get("/api/audit-events/", {"action": "import.users"})
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["changes"] == {"created": [None, 3]}


def test_a_change_must_be_a_pair():
    from audit.services import audit_record

    with pytest.raises(ValueError, match="pair"):
        audit_record(action="export.tenant", target_type="tenant", changes={"users": 4})
