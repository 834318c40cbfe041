from __future__ import annotations

import itertools

from channels_app.models import Channel, ChannelRole, Membership

_seq = itertools.count(1)


def ChannelFactory(*, tenant, members=(), moderators=(), **fields) -> Channel:
    n = next(_seq)
    fields.setdefault("slug", f"channel-{n}")
    fields.setdefault("name", fields["slug"].replace("-", " ").title())
    channel = Channel.objects.create(tenant=tenant, **fields)
    for user in members:
        Membership.objects.create(channel=channel, user=user, role=ChannelRole.MEMBER)
    for user in moderators:
        Membership.objects.create(channel=channel, user=user, role=ChannelRole.MODERATOR)
    return channel
