"""The hot paths' output serializers build their dicts directly: each must
give exactly what DRF's field-by-field path gives for the fields it declares
(so the schema stays true), and the JSON renderer must write it as before.

Their dicts hold ids and times as UUIDs and datetimes, which the renderers
write as DRF's fields would: each is compared as the client gets it, through
our renderer and through DRF's own."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from accounts.api.serializers import UserSerializer
from channels_app.api.serializers import ChannelSerializer, MembershipSerializer
from channels_app.selectors import MemberRow, channels_visible_to
from channels_app.services import channel_members_add
from chatplatform.api.renderers import ORJSONRenderer
from chatplatform.api.serializers import timestamp
from streamsync.api.views import ChatTokenSerializer

pytestmark = pytest.mark.django_db


def _drf(serializer_class: type[serializers.Serializer], instance: object) -> dict:
    """What DRF itself makes of ``instance`` with the serializer's declared fields."""
    return serializers.Serializer.to_representation(serializer_class(), instance)


def _sent(data: object) -> object:
    """``data`` as the client reads it; DRF's own renderer must agree."""
    ours = json.loads(ORJSONRenderer().render(data))
    assert ours == json.loads(JSONRenderer().render(data))
    return ours


def test_users_as_drf_shows_them(world):
    for user in (world.admin, world.staff):
        assert _sent(UserSerializer(user).data) == _drf(UserSerializer, user)


def test_channels_as_drf_shows_them(world):
    for channel in channels_visible_to(actor=world.admin):
        assert _sent(ChannelSerializer(channel).data) == _drf(ChannelSerializer, channel)


def test_memberships_as_drf_shows_them_whether_read_or_just_added(world):
    added = channel_members_add(channel=world.public_channel, user_ids=[world.other_member.pk])
    [row] = added
    assert isinstance(row, MemberRow)
    stored = world.public_channel.memberships.select_related("user").get(user=world.other_member)
    assert (
        _sent(MembershipSerializer(row).data)
        == _sent(MembershipSerializer(stored).data)
        == _drf(MembershipSerializer, stored)
    )


def test_chat_tokens_as_drf_shows_them():
    issued = {
        "token": "t",
        "api_key": "k",
        "user_id": "u",
        "expires_at": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "base_url": "http://x/chat-api",
    }
    assert _sent(ChatTokenSerializer(issued).data) == _drf(ChatTokenSerializer, issued)
    assert (
        _sent(
            ChatTokenSerializer({**issued, "expires_at": issued["expires_at"].replace(microsecond=0)}).data
        )["expires_at"]
        == "2026-01-02T03:04:05Z"
    )


@pytest.mark.parametrize(
    "data",
    [
        {"detail": "Ünïcode ✓", "code": "x", "fields": {"a": ["b"]}},
        [{"n": 1, "f": 1.5, "none": None, "flag": True}],
        {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
    ],
)
def test_the_renderer_writes_what_the_standard_one_did(data):
    assert json.loads(ORJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Europe/Paris"])
def test_times_are_written_as_drf_writes_them_in_any_server_zone(settings, zone):
    settings.TIME_ZONE = zone
    field = serializers.DateTimeField()
    for value in (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 7, 2, 3, 4, 5, 6, tzinfo=UTC)):
        assert _sent({"t": timestamp(value)}) == {"t": field.to_representation(value)}
