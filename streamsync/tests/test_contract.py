"""Every request the worker and the commands send is valid per Stream's published
OpenAPI spec (method, path and body), with the documented allow-list only."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.services import user_create, user_delete, user_update
from channels_app.services import channel_create, channel_delete, channel_member_remove, channel_members_add
from specs import stream_spec
from streamsync.tests.conftest import drain
from tenants.services import tenant_create, tenant_suspend

pytestmark = pytest.mark.django_db


def _everything(fake_stream) -> None:
    call_command("stream_setup", "--webhook-url", "https://chat.example.com/api/stream/webhook")
    tenant = tenant_create(name="Acme", slug="acme")
    admin = user_create(tenant=tenant, email="a@acme.test", role="admin")
    users = [user_create(tenant=tenant, email=f"u{i}@acme.test") for i in range(4)]
    channel = channel_create(
        tenant=tenant, name="General", created_by=admin, member_ids=[u.pk for u in users[:2]]
    )
    other = channel_create(tenant=tenant, name="Other", created_by=None)
    drain()
    user_update(user=users[0], data={"role": "moderator", "full_name": "Mod"})
    channel_members_add(channel=channel, user_ids=[users[0].pk], role="moderator")
    channel_members_add(channel=channel, user_ids=[users[3].pk])
    channel_member_remove(channel=channel, user=users[1])
    from channels_app.services import channel_update

    channel_update(channel=channel, data={"name": "Everyone"})
    drain()
    tenant_suspend(tenant=tenant)
    drain()
    from tenants.services import tenant_reactivate

    tenant_reactivate(tenant=tenant)
    user_delete(user=users[2])
    channel_delete(channel=other)
    drain()
    call_command("stream_reconcile", "--fix")
    drain()


def _routes(fake_stream) -> set[str]:
    return {
        f"{m} {stream_spec.match(m, p)[0]}" for m, p, _ in fake_stream.requests if stream_spec.match(m, p)
    }


def test_every_request_matches_the_spec(fake_stream):
    _everything(fake_stream)
    assert fake_stream.violations == []
    routes = _routes(fake_stream)
    assert {
        "GET /app",
        "PATCH /app",
        "GET /roles",
        "POST /roles",
        "GET /channeltypes/{name}",
        "PUT /channeltypes/{name}",
        "POST /users",
        "PATCH /users",
        "GET /users",
        "POST /users/deactivate",
        "POST /users/reactivate",
        "POST /users/delete",
        "POST /channels/{type}/{id}/query",
        "POST /channels/{type}/{id}",
        "PATCH /channels/{type}/{id}",
        "DELETE /channels/{type}/{id}",
        "POST /channels",
    } <= routes


def test_the_allow_list_is_needed_and_no_wider(fake_stream):
    """Each allow-list entry covers a request we really send; anything else still fails."""
    _everything(fake_stream)
    allowed_hits = {kind: 0 for *_, kind in stream_spec.ALLOWED}
    original = stream_spec.ALLOWED[:]
    try:
        for entry in original:
            stream_spec.ALLOWED[:] = [e for e in original if e is not entry]
            if any(stream_spec.request_violations(m, p, b) for m, p, b in fake_stream.requests):
                allowed_hits[entry[2]] += 1
    finally:
        stream_spec.ALLOWED[:] = original
    assert all(allowed_hits.values()), allowed_hits
    assert stream_spec.request_violations("POST", "/users", {"users": {"u": {"id": 7}}})
    assert stream_spec.request_violations("POST", "/channels/messaging/x", {"add_members": ["u1"]})
    assert stream_spec.request_violations("GET", "/no/such/route", None)
