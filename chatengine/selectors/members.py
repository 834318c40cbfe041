"""Members and read state: member lists, members per channel, unread
totals, the audience of a new message and a viewer's own memberships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Case, Count, Exists, F, OuterRef, Q, QuerySet, Sum, Value, When

from chatengine import sendpath
from chatengine.filters import MEMBER_SCHEMA, SORTABLE_MEMBER_FIELDS, Context, compile_filter, parse_sort
from chatengine.models import CONVERSATION_MEMBERS, Ban, Channel, ChatUser, Connection, Member, UserBlock
from chatengine.selectors.paging import DEFAULT_MEMBER_LIMIT, MAX_OFFSET, bounded_int, top_per_channel


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


def members_per_channel(
    channels: list[Channel], *, limit: int, offset: int = 0, with_online: bool = False
) -> dict[str, list[Member]]:
    """A page of each channel's members with their users; ``with_online``
    annotates each with whether its user has a live socket (``online``)."""
    queryset = Member.objects.select_related("user")
    if with_online:
        queryset = queryset.annotate(
            online=Exists(Connection.objects.live().filter(user_id=OuterRef("user_id")))
        )
    return top_per_channel(
        queryset,
        channels,
        [F("created_at").asc(), F("user_id").asc()],
        limit,
        offset,
    )


def unread_totals(user_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per user: ``total_unread_count`` (messages) and ``unread_channels``."""
    if not user_ids:
        return {}
    return _totals(Member.objects.filter(user_id__in=user_ids), user_ids)


@dataclass
class Audience:
    """Who a new message in a channel reaches: each member's unread totals,
    the members watching it, and how many users watch it (members or not)."""

    totals: dict[str, dict[str, int]]
    watching: set[str]
    watcher_count: int


def channel_audience(channel: Channel) -> Audience:
    """The :class:`Audience` of ``channel`` in one query, whatever its size
    (``sendpath.audience``: one row per member, with its totals and whether it
    watches)."""
    rows = sendpath.audience(channel.cid)
    if not rows:
        return Audience({}, set(), sendpath.watcher_count(channel.cid))
    totals = {
        row.user_id: {
            "total_unread_count": row.total_unread,
            "unread_count": row.total_unread,
            "unread_channels": row.unread_channels,
        }
        for row in rows
    }
    return Audience(totals, {row.user_id for row in rows if row.watching}, rows[0].watcher_count)


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
    user = OuterRef("user_id")
    bans = Ban.objects.active().filter(user_id=user)
    blocks = UserBlock.objects.filter(user_id=user, target__memberships__channel_id=OuterRef("channel_id"))
    memberships = Member.objects.filter(user=viewer, channel__in=channels).annotate(
        online=Exists(Connection.objects.live().filter(user_id=user)),
        ban_in_force=Exists(bans.filter(Q(channel__isnull=True) | Q(channel_id=OuterRef("channel_id")))),
        blocks_other=Case(
            When(channel__member_count=CONVERSATION_MEMBERS, then=Exists(blocks)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )
    found: dict[str, Member] = {}
    for member in memberships:
        member.user = viewer
        found[member.channel_id] = member
    return found
