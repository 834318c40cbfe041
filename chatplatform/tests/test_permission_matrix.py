"""The role x endpoint x method matrix: the exact status for every cell.

Columns: platform staff, tenant A's admin, moderator and member, an anonymous
caller, and the admin of tenant B (the outsider). Every cell runs against a
fresh world, so destructive cells cannot leak into others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import World, bearer_client

ROLES = ["staff", "admin", "moderator", "member", "anonymous", "outsider"]


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: Callable[[World], str]
    expected: tuple[int, int, int, int, int, int]  # in ROLES order
    body: Callable[[World, str], Any] | None = None


def _user_body(world: World, role: str) -> dict:
    body = {
        "email": f"new-{role}@example.test",
        "full_name": "New",
        "role": "member",
        "password": "a-decent-passphrase",
    }
    if role == "staff":
        body["tenant"] = str(world.tenant_a.pk)
    return body


def _channel_body(world: World, role: str) -> dict:
    body = {"name": f"Made by {role}"}
    if role == "staff":
        body["tenant"] = str(world.tenant_a.pk)
    return body


def _add_members_body(world: World, role: str) -> dict:
    return {"user_ids": [str(world.other_member.pk)]}


def _public_channel_with_both_members(world: World) -> str:
    from channels_app.models import Membership

    Membership.objects.get_or_create(channel=world.public_channel, user=world.other_member)
    return f"/api/channels/{world.public_channel.pk}/members/{world.other_member.pk}/"


def _conversation_of_the_members(world: World) -> str:
    """A direct conversation of tenant A's two members (not its admin or moderator)."""
    from channels_app.services import channel_direct_start

    channel, _ = channel_direct_start(creator=world.member, user_ids=[world.other_member.pk])
    return f"/api/channels/{channel.pk}/"


def _direct_start_after_the_members_started_theirs(world: World) -> str:
    _conversation_of_the_members(world)
    return "/api/channels/direct/"


def _event_of_tenant_a(world: World) -> int:
    from audit.services import audit_record

    return audit_record(action="channel.updated", target_type="channel", tenant=world.tenant_a).pk


def _invitation_of_tenant_a(world: World) -> str:
    from onboarding.invitations import invitation_create

    invitation = invitation_create(tenant=world.tenant_a, email="guest@acme.test", send=False).invitation
    return str(invitation.pk)


ROWS = [
    # tenants                                                 staff admin  mod  member anon outsider
    Row("tenants list", "get", lambda w: "/api/tenants/", (200, 200, 200, 200, 401, 200)),
    Row(
        "tenant create",
        "post",
        lambda w: "/api/tenants/",
        (201, 403, 403, 403, 401, 403),
        lambda w, r: {"name": "New Org"},
    ),
    Row("tenant retrieve", "get", lambda w: f"/api/tenants/{w.tenant_a.pk}/", (200, 200, 200, 200, 401, 404)),
    Row(
        "tenant rename",
        "patch",
        lambda w: f"/api/tenants/{w.tenant_a.pk}/",
        (200, 200, 403, 403, 401, 404),
        lambda w, r: {"name": "Renamed"},
    ),
    Row(
        "tenant put",
        "put",
        lambda w: f"/api/tenants/{w.tenant_a.pk}/",
        (200, 200, 403, 403, 401, 404),
        lambda w, r: {"name": "Renamed"},
    ),
    Row(
        "tenant status change",
        "patch",
        lambda w: f"/api/tenants/{w.tenant_a.pk}/",
        (200, 403, 403, 403, 401, 404),
        lambda w, r: {"status": "suspended"},
    ),
    Row(
        "tenant delete", "delete", lambda w: f"/api/tenants/{w.tenant_a.pk}/", (204, 403, 403, 403, 401, 404)
    ),
    Row(
        "tenant suspend",
        "post",
        lambda w: f"/api/tenants/{w.tenant_a.pk}/suspend/",
        (200, 403, 403, 403, 401, 404),
    ),
    Row(
        "tenant reactivate",
        "post",
        lambda w: f"/api/tenants/{w.tenant_a.pk}/reactivate/",
        (200, 403, 403, 403, 401, 404),
    ),
    # users
    Row("users list", "get", lambda w: "/api/users/", (200, 200, 200, 200, 401, 200)),
    Row("user create member", "post", lambda w: "/api/users/", (201, 201, 201, 403, 401, 201), _user_body),
    Row(
        "user create admin",
        "post",
        lambda w: "/api/users/",
        (201, 201, 403, 403, 401, 201),
        lambda w, r: {**_user_body(w, r), "role": "admin"},
    ),
    Row("user retrieve", "get", lambda w: f"/api/users/{w.other_member.pk}/", (200, 200, 200, 200, 401, 404)),
    Row(
        "user rename other",
        "patch",
        lambda w: f"/api/users/{w.other_member.pk}/",
        (200, 200, 200, 403, 401, 404),
        lambda w, r: {"full_name": "Renamed"},
    ),
    Row(
        "user promote",
        "patch",
        lambda w: f"/api/users/{w.other_member.pk}/",
        (200, 200, 403, 403, 401, 404),
        lambda w, r: {"role": "moderator"},
    ),
    Row(
        "user deactivate",
        "patch",
        lambda w: f"/api/users/{w.other_member.pk}/",
        (200, 200, 200, 403, 401, 404),
        lambda w, r: {"is_active": False},
    ),
    Row(
        "user edit admin",
        "patch",
        lambda w: f"/api/users/{w.admin.pk}/",
        (200, 200, 403, 403, 401, 404),
        lambda w, r: {"full_name": "Boss"},
    ),
    Row(
        "user delete", "delete", lambda w: f"/api/users/{w.other_member.pk}/", (204, 204, 403, 403, 401, 404)
    ),
    # channels
    Row("channels list", "get", lambda w: "/api/channels/", (200, 200, 200, 200, 401, 200)),
    Row("channel create", "post", lambda w: "/api/channels/", (201, 201, 201, 403, 401, 201), _channel_body),
    Row(
        "channel retrieve public",
        "get",
        lambda w: f"/api/channels/{w.public_channel.pk}/",
        (200, 200, 200, 200, 401, 404),
    ),
    Row(
        "channel retrieve private",
        "get",
        lambda w: f"/api/channels/{w.private_channel.pk}/",
        (200, 200, 200, 404, 401, 404),
    ),
    Row(
        "channel update",
        "patch",
        lambda w: f"/api/channels/{w.public_channel.pk}/",
        (200, 200, 200, 403, 401, 404),
        lambda w, r: {"description": "New topic"},
    ),
    Row(
        "channel delete",
        "delete",
        lambda w: f"/api/channels/{w.public_channel.pk}/",
        (204, 204, 204, 403, 401, 404),
    ),
    Row(
        "channel members list",
        "get",
        lambda w: f"/api/channels/{w.public_channel.pk}/members/",
        (200, 200, 200, 200, 401, 404),
    ),
    Row(
        "channel members add",
        "post",
        lambda w: f"/api/channels/{w.public_channel.pk}/members/",
        (201, 201, 201, 403, 401, 404),
        _add_members_body,
    ),
    Row(
        "channel member remove other",
        "delete",
        _public_channel_with_both_members,
        (204, 204, 204, 403, 401, 404),
    ),
    Row(
        "channel member leave",
        "delete",
        lambda w: f"/api/channels/{w.public_channel.pk}/members/{w.member.pk}/",
        (204, 204, 204, 204, 401, 404),
    ),
    Row(
        "channel join public",
        "post",
        lambda w: f"/api/channels/{w.public_channel.pk}/join/",
        (403, 201, 201, 200, 401, 404),
    ),
    Row(
        "channel join private",
        "post",
        lambda w: f"/api/channels/{w.private_channel.pk}/join/",
        (403, 403, 403, 404, 401, 404),
    ),
    # direct conversations
    Row(
        "direct start",
        "post",
        lambda w: "/api/channels/direct",
        (403, 201, 201, 201, 401, 400),  # B's admin names a user of A: unknown to it
        lambda w, r: {"user_ids": [str(w.other_member.pk)]},
    ),
    Row(
        "direct found again",
        "post",
        _direct_start_after_the_members_started_theirs,
        (403, 201, 201, 200, 401, 400),
        lambda w, r: {"user_ids": [str(w.other_member.pk)]},
    ),
    Row(
        "direct retrieve",
        "get",
        _conversation_of_the_members,
        (200, 200, 404, 200, 401, 404),
    ),
    Row(
        "direct rename",
        "patch",
        _conversation_of_the_members,
        (409, 409, 404, 403, 401, 404),
        lambda w, r: {"name": "Renamed"},
    ),
    Row(
        "direct delete",
        "delete",
        _conversation_of_the_members,
        (204, 204, 404, 403, 401, 404),
    ),
    Row(
        "direct members list",
        "get",
        lambda w: f"{_conversation_of_the_members(w)}members/",
        (200, 200, 404, 200, 401, 404),
    ),
    Row(
        "direct members add",
        "post",
        lambda w: f"{_conversation_of_the_members(w)}members/",
        (409, 409, 404, 403, 401, 404),
        lambda w, r: {"user_ids": [str(w.admin.pk)]},
    ),
    Row(
        "direct member leave",
        "delete",
        lambda w: f"{_conversation_of_the_members(w)}members/{w.member.pk}/",
        (409, 409, 404, 409, 401, 404),
    ),
    Row(
        "direct join",
        "post",
        lambda w: f"{_conversation_of_the_members(w)}join/",
        (409, 409, 404, 409, 401, 404),
    ),
    # audit log
    Row("audit events list", "get", lambda w: "/api/audit-events/", (200, 200, 403, 403, 401, 200)),
    Row(
        "audit event retrieve",
        "get",
        lambda w: f"/api/audit-events/{_event_of_tenant_a(w)}/",
        (200, 200, 403, 403, 401, 404),
    ),
    # invitations
    Row("invitations list", "get", lambda w: "/api/invitations/", (200, 200, 200, 403, 401, 200)),
    Row(
        "invitation create member",
        "post",
        lambda w: "/api/invitations/",
        (201, 201, 201, 403, 401, 201),
        lambda w, r: {
            "email": f"invitee-{r}@example.test",
            **({"tenant": str(w.tenant_a.pk)} if r == "staff" else {}),
        },
    ),
    Row(
        "invitation create admin",
        "post",
        lambda w: "/api/invitations/",
        (201, 201, 403, 403, 401, 201),
        lambda w, r: {
            "email": f"boss-{r}@example.test",
            "role": "admin",
            **({"tenant": str(w.tenant_a.pk)} if r == "staff" else {}),
        },
    ),
    Row(
        "invitation retrieve",
        "get",
        lambda w: f"/api/invitations/{_invitation_of_tenant_a(w)}/",
        (200, 200, 200, 403, 401, 404),
    ),
    Row(
        "invitation revoke",
        "post",
        lambda w: f"/api/invitations/{_invitation_of_tenant_a(w)}/revoke/",
        (200, 200, 200, 403, 401, 404),
    ),
    Row(
        "invitation accept (bad token)",
        "post",
        lambda w: "/api/invitations/accept",
        (400, 400, 400, 400, 400, 400),
        lambda w, r: {"token": "nope", "password": "a-fine-long-passphrase"},
    ),
    # auth and health
    Row("me", "get", lambda w: "/api/auth/me", (200, 200, 200, 200, 401, 200)),
    Row("health", "get", lambda w: "/api/health", (200, 200, 200, 200, 200, 200)),
    Row("ready", "get", lambda w: "/api/ready", (200, 200, 200, 200, 200, 200)),
]

CELLS = [
    pytest.param(row, role, expected, id=f"{row.name}-{role}")
    for row in ROWS
    for role, expected in zip(ROLES, row.expected, strict=True)
]


@pytest.mark.parametrize(("row", "role", "expected"), CELLS)
def test_matrix(world, row: Row, role: str, expected: int):
    client = bearer_client(world.by_role(role))
    path = row.path(world)
    kwargs = {"format": "json"}
    if row.body is not None:
        kwargs["data"] = row.body(world, role)
    response = getattr(client, row.method)(path, **kwargs)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert {"detail", "code"} <= set(response.json())
