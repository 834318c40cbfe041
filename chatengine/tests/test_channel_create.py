"""Channels come from the control plane: a client creates none, in any type
(invariant 5), while server-side get-or-create keeps working. (No client role
creates one either: test_server_side_changes.)"""

from __future__ import annotations

import pytest

from chatengine.models import Channel
from chatengine.services.app import BUILTIN_CHANNEL_TYPES
from chatengine.tests.factories import StreamClient, make_user, multi_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    multi_tenant()
    return {"ann": make_user("ann")}


@pytest.mark.parametrize("channel_type", BUILTIN_CHANNEL_TYPES)
def test_a_client_cannot_create_a_channel_of_any_type(world, channel_type):
    user_id = "ann"
    created = StreamClient(user_id).call(
        "POST", f"channels/{channel_type}/acme-new/query", {"data": {"team": "acme", "members": [user_id]}}
    )
    assert created.status_code == 403, created.content
    assert created.json()["code"] == 17
    distinct = StreamClient(user_id).call(
        "POST", f"channels/{channel_type}/query", {"data": {"team": "acme", "members": [user_id, "ann"]}}
    )
    assert distinct.status_code == 403, distinct.content
    assert not Channel.objects.exists()


@pytest.mark.parametrize("channel_type", BUILTIN_CHANNEL_TYPES)
def test_the_server_creates_channels_of_every_type(world, channel_type):
    created = StreamClient().call(
        "POST",
        f"channels/{channel_type}/acme-new/query",
        {"data": {"team": "acme", "members": ["ann"], "created_by_id": "ann"}},
    )
    assert created.status_code == 201, created.content
    assert Channel.objects.filter(cid=f"{channel_type}:acme-new", team="acme").exists()


def test_the_default_grants_give_plain_users_no_create_channel(world):
    for channel_type in BUILTIN_CHANNEL_TYPES:
        grants = StreamClient().call("GET", f"channeltypes/{channel_type}").json()["grants"]
        assert "create-channel" not in grants.get("user", []), channel_type
