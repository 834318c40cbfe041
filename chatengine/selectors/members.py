"""Members and read state: member lists, members per channel, unread
totals, the audience of a new message and a viewer's own memberships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from chatengine import sendpath, watchpath
from chatengine.filters import MEMBER_SCHEMA, SORTABLE_MEMBER_FIELDS, Context, compile_filter, parse_sort
from chatengine.models import Channel, ChatUser, Member
from chatengine.selectors.paging import DEFAULT_MEMBER_LIMIT, MAX_OFFSET, bounded_int


def members_query(
    *, channel: Channel, filter_conditions: Any, sort: Any, limit: Any, offset: Any
) -> list[Member]:
    q = compile_filter(filter_conditions or {}, MEMBER_SCHEMA, Context())
    orderings = parse_sort(sort, SORTABLE_MEMBER_FIELDS) or [SORTABLE_MEMBER_FIELDS["created_at"].asc()]
    limit_n = bounded_int(limit, name="limit", default=DEFAULT_MEMBER_LIMIT, maximum=300)
    offset_n = bounded_int(offset, name="offset", default=0, maximum=MAX_OFFSET)
    queryset = Member.objects.filter(q, channel=channel).select_related("user")
    return list(queryset.order_by(*orderings, "user_id")[offset_n : offset_n + limit_n])


def channel_members(channel: Channel, *, limit: int = DEFAULT_MEMBER_LIMIT, offset: int = 0) -> list[Member]:
    return list(
        Member.objects.filter(channel=channel)
        .select_related("user")
        .order_by("created_at", "user_id")[offset : offset + limit]
    )


def members_per_channel(channels: list[Channel], *, limit: int, offset: int = 0) -> dict[str, list[Member]]:
    """A page of each channel's members (oldest first) with their users, each
    annotated with whether its user has a live socket (``online``), in one
    query (``watchpath.members_per_channel``)."""
    return watchpath.members_per_channel([channel.cid for channel in channels], limit=limit, offset=offset)


def unread_totals(user_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per user: ``total_unread_count`` (messages) and ``unread_channels``."""
    if not user_ids:
        return {}
    return _totals(Member.objects.filter(user_id__in=user_ids), user_ids)


@dataclass
class Audience:
    """Who a new message in a channel reaches, read before the message's
    writes: its members (each with its unread messages in the channel and in
    its other channels), the members watching it, and how many users watch
    it (members or not)."""

    members: list[sendpath.AudienceRow]
    watcher_count: int

    @property
    def watching(self) -> set[str]:
        return {row.user_id for row in self.members if row.watching}

    def totals(self, unread: dict[str, int]) -> dict[str, dict[str, int]]:
        """Each member's unread totals once the writes left the unread counts
        ``unread`` in the channel (members not in it are unchanged)."""
        totals = {}
        for row in self.members:
            here = unread.get(row.user_id, row.unread)
            total = row.other_unread + here
            channels = row.other_unread_channels + (here > 0)
            totals[row.user_id] = {
                "total_unread_count": total,
                "unread_count": total,
                "unread_channels": channels,
            }
        return totals


def channel_audience(channel: Channel) -> Audience:
    """The :class:`Audience` of ``channel`` in one query, whatever its size
    (``sendpath.audience``: one row per member)."""
    rows = sendpath.audience(channel.cid)
    if not rows:
        return Audience([], sendpath.watcher_count(channel.cid))
    return Audience(rows, rows[0].watcher_count)


def _totals(memberships: QuerySet[Member], user_ids: list[str]) -> dict[str, dict[str, int]]:
    rows = memberships.values("user_id").annotate(
        total=Sum("unread_messages"), channels=Count("id", filter=Q(unread_messages__gt=0))
    )
    totals = {uid: {"total_unread_count": 0, "unread_channels": 0, "unread_count": 0} for uid in user_ids}
    for row in rows:
        total = row["total"] or 0
        totals[row["user_id"]] = {
            "total_unread_count": total,
            "unread_count": total,
            "unread_channels": row["channels"],
        }
    return totals


def viewer_memberships(viewer: ChatUser, channels: list[Channel]) -> dict[str, Member]:
    """``viewer``'s memberships of ``channels`` by cid, in one query, each with
    what the channel states need of it besides its row: whether its user is
    online, whether a ban in force keeps it from writing there
    (``ban_in_force``, as ``banned_channels``), and whether the channel is a
    conversation with someone it blocks (``blocks_other``, as
    ``blocked_conversations``). The user row is ``viewer`` itself."""
    return watchpath.viewer_memberships(viewer, [channel.cid for channel in channels])
