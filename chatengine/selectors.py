"""Reads and access checks of the chat engine.

``channel_access`` is the one place a client-side caller is checked against a
channel: the team wall first (multi-tenancy), then the permission asked for.
Server-side callers pass every check, as in Stream.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from chatengine import permissions, sendpath
from chatengine.auth import Caller
from chatengine.errors import input_error, not_allowed, not_found
from chatengine.filters import (
    CHANNEL_SCHEMA,
    MEMBER_SCHEMA,
    MESSAGE_SCHEMA,
    SORTABLE_CHANNEL_FIELDS,
    SORTABLE_MEMBER_FIELDS,
    SORTABLE_MESSAGE_FIELDS,
    SORTABLE_USER_FIELDS,
    USER_SCHEMA,
    Context,
    channel_last_updated,
    check_filter_bounds,
    compile_filter,
    parse_date,
    parse_sort,
)
from chatengine.models import (
    CONVERSATION_MEMBERS,
    Ban,
    Channel,
    ChannelMute,
    ChannelType,
    ChatUser,
    Connection,
    Flag,
    Member,
    Message,
    MessageType,
    UserBlock,
    UserMute,
)
from chatengine.services.app import channel_type_config, channel_type_get

DEFAULT_MESSAGE_LIMIT = 100  # the JS client's page size for channel.query without a limit
MAX_MESSAGE_LIMIT = 300
DEFAULT_MEMBER_LIMIT = 100
MAX_CHANNEL_LIMIT = 30
DEFAULT_CHANNEL_LIMIT = 10
MAX_OFFSET = 1000
DEFAULT_SEARCH_LIMIT = 20
MAX_SEARCH_LIMIT = 100


def bounded_int(value: Any, *, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise input_error(f"{name} must be an integer") from exc
    if number < minimum or number > maximum:
        raise input_error(f"{name} must be between {minimum} and {maximum}")
    return number


# ---------------------------------------------------------------------------
# Channel access
# ---------------------------------------------------------------------------
@dataclass
class Access:
    """A caller's view of one channel: its membership and what it may do."""

    channel: Channel
    member: Member | None
    granted: frozenset[str]
    server: bool
    banned: bool = False

    def can(self, permission: str) -> bool:
        return self.server or permissions.has(self.granted, permission)

    def require(self, permission: str, what: str) -> None:
        if not self.can(permission):
            if permission in permissions.SERVER_SIDE_PERMISSIONS:
                raise not_allowed(
                    f"you are not allowed to {what} in channel {self.channel.cid}: a channel, "
                    "its data and its members change server-side only (through the control plane)"
                )
            if self.banned:
                raise not_allowed(f"you are banned from channel {self.channel.cid}: you may read, not {what}")
            raise not_allowed(f"you are not allowed to {what} in channel {self.channel.cid}")


class ChannelTypes:
    """Channel types read once per request."""

    def __init__(self) -> None:
        self._types: dict[str, ChannelType] = {}

    def get(self, name: str) -> ChannelType:
        if name not in self._types:
            self._types[name] = channel_type_get(name)
        return self._types[name]

    def config(self, name: str) -> dict[str, Any]:
        return channel_type_config(self.get(name))

    def grants(self, name: str) -> dict[str, list[str]]:
        return permissions.effective_grants(self.get(name).grants)


def access_for(
    caller: Caller,
    channel: Channel,
    member: Member | None,
    types: ChannelTypes,
    user: ChatUser | None = None,
    *,
    banned: bool | None = None,
) -> Access:
    """What the caller may do in ``channel``. ``banned`` (whether a ban keeps the
    user from writing there) is looked up unless the caller already knows it."""
    user = user or caller.user
    if caller.server or user is None:
        return Access(channel, member, permissions.SERVER_GRANTED, server=caller.server)
    roles = permissions.roles_on_channel(user, channel, member, multi_tenant=caller.multi_tenant)
    granted = permissions.permissions_of(roles, types.grants(channel.type))
    if member is None and not permissions.has(granted, "read-channel"):
        # Reading a channel one is not in takes an explicit grant (admins, custom roles).
        granted = frozenset(p for p in granted if p in ("create-channel", "read-own-channel"))
    if banned is None:
        banned = channel.cid in banned_channels(user, [channel])
    if banned:
        granted = frozenset(p for p in permissions.BANNED_MAY if permissions.has(granted, p))
    return Access(channel, member, granted, server=False, banned=banned)


def may_read(caller: Caller, channel: Channel, member: Member | None, types: ChannelTypes) -> bool:
    """Whether the caller may read ``channel``: what watching it takes, checked
    as ``channel.query`` checks it (the team wall, then ``read-channel``)."""
    # A ban keeps reading (Stream's banned users still watch and read), so it
    # need not be looked up to answer this.
    return team_sees(caller, channel) and access_for(caller, channel, member, types, banned=False).can(
        "read-channel"
    )


def banned_channels(user: ChatUser, channels: list[Channel]) -> set[str]:
    """The cids among ``channels`` where a ban in force keeps ``user`` from writing."""
    bans = Ban.objects.active().filter(user=user).filter(Q(channel__isnull=True) | Q(channel__in=channels))
    cids = set(bans.values_list("channel_id", flat=True))
    if None in cids:  # banned everywhere
        return {channel.cid for channel in channels}
    return cids


def check_team(caller: Caller, channel: Channel) -> None:
    user = caller.user
    if caller.server or user is None:
        return
    if not team_sees(caller, channel):
        raise not_allowed(
            f"user '{user.id}' cannot access channel {channel.cid}: it does not belong to the user's teams"
        )


def team_sees(caller: Caller, channel: Channel) -> bool:
    """Whether the caller is on the right side of the team wall for ``channel``."""
    user = caller.user
    return (
        caller.server
        or user is None
        or permissions.team_allows(user, channel, multi_tenant=caller.multi_tenant)
    )


def channel_get_for_user(caller: Caller, cid: str) -> Channel:
    """The channel ``cid`` as the caller may know it. Another team's channel
    raises the same not-found as a missing one: a client must not learn from
    the answer which ids other teams use."""
    channel = Channel.objects.select_related("created_by").filter(cid=cid).first()
    if channel is None or not team_sees(caller, channel):
        raise not_found(f"channel {cid}")
    return channel


def message_get_for_user(caller: Caller, message_id: str) -> Message:
    """The message as the caller may know it: one in another team's channel
    raises the same not-found as a missing one."""
    message = message_get(message_id)
    if not team_sees(caller, message.channel):
        raise not_found(f"message {message_id}")
    return message


def channel_get(cid: str) -> Channel:
    channel = Channel.objects.select_related("created_by").filter(cid=cid).first()
    if channel is None:
        raise not_found(f"channel {cid}")
    return channel


def channel_access(
    caller: Caller, cid: str, types: ChannelTypes, *, permission: str = "read-channel", what: str = "read"
) -> Access:
    """The channel if the caller may ``permission`` on it: a missing channel is
    code 16, another team's channel or a missing grant code 17."""
    user = caller.user
    member = _membership_with_channel(user, cid) if user is not None and not caller.server else None
    if member is not None:
        channel, banned = member.channel, member.ban_in_force  # type: ignore[attr-defined]  # annotated by the query
    else:
        channel, banned = channel_get(cid), None
    check_team(caller, channel)
    access = access_for(caller, channel, member, types, banned=banned)
    access.require(permission, what)
    return access


def _membership_with_channel(user: ChatUser, cid: str) -> Member | None:
    """``user``'s membership of ``cid`` with the channel, whether a ban in force
    keeps it from writing there (``ban_in_force``) and, in a conversation, the
    other member if it blocks ``user`` (``blocked_by``): what a client's post
    needs, in one query. The user row is the caller's own (already read)."""
    bans = Ban.objects.active().filter(user_id=OuterRef("user_id"))
    blocker = UserBlock.objects.filter(
        target_id=OuterRef("user_id"), user__memberships__channel_id=OuterRef("channel_id")
    ).values("user_id")[:1]
    member = (
        Member.objects.select_related("channel__created_by")
        .annotate(
            ban_in_force=Exists(bans.filter(Q(channel__isnull=True) | Q(channel_id=OuterRef("channel_id")))),
            blocked_by=Case(
                When(channel__member_count=CONVERSATION_MEMBERS, then=Subquery(blocker)), default=Value(None)
            ),
        )
        .filter(channel_id=cid, user=user)
        .first()
    )
    if member is not None:
        member.user = user
    return member


def membership_for_update(caller: Caller, cid: str, user_id: str) -> Member:
    """``user_id``'s membership of ``cid``, for changing its own settings (pin,
    archive, custom member data). A client changes only its own membership;
    server-side calls reach any member.

    For a client, a channel of another team answers exactly as a missing one
    (code 16): the route tells nobody which channels other teams have."""
    channel = Channel.objects.filter(cid=cid).first()
    client = None if caller.server else caller.user
    if channel is None or (
        client is not None and not permissions.team_allows(client, channel, multi_tenant=caller.multi_tenant)
    ):
        raise not_found(f"channel {cid}")
    if client is not None and client.id != user_id:
        raise not_allowed(f"user '{client.id}' can only change its own membership, not that of '{user_id}'")
    member = Member.objects.filter(channel=channel, user_id=user_id).first()
    if member is None:
        raise not_found(f"member {user_id} of channel {cid}")
    return member


def member_get(channel: Channel, user: ChatUser | None) -> Member | None:
    if user is None:
        return None
    return Member.objects.select_related("user").filter(channel=channel, user=user).first()


def message_get(message_id: str) -> Message:
    message = Message.objects.select_related("user", "channel__created_by").filter(id=message_id).first()
    if message is None:
        raise not_found(f"message {message_id}")
    return message


@dataclass(frozen=True)
class UserSummary:
    """What a handshake needs to know of its user besides its row: whether it
    was online already, its unread totals, and whether it has any mutes or
    blocks at all (most users have none: then they cost no query)."""

    online: bool
    unread: dict[str, int]
    has_user_mutes: bool
    has_channel_mutes: bool
    has_blocks: bool


def user_with_summary(user_id: str) -> tuple[ChatUser, UserSummary] | None:
    """The user ``user_id`` (already validated) and its :class:`UserSummary`,
    in one query; ``None`` if there is no such user."""
    user = OuterRef("pk")
    own = Member.objects.filter(user_id=user).values("user_id")
    row = (
        ChatUser.objects.filter(id=user_id)
        .annotate(
            summary_online=Exists(Connection.objects.live().filter(user_id=user)),
            summary_total=Coalesce(
                Subquery(own.annotate(n=Sum("unread_messages")).values("n"), output_field=IntegerField()), 0
            ),
            summary_channels=Coalesce(
                Subquery(
                    own.filter(unread_messages__gt=0).annotate(n=Count("id")).values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            summary_user_mutes=Exists(UserMute.objects.active().filter(user_id=user)),
            summary_channel_mutes=Exists(ChannelMute.objects.active().filter(user_id=user)),
            summary_blocks=Exists(UserBlock.objects.filter(user_id=user, target__deleted_at__isnull=True)),
        )
        .first()
    )
    if row is None:
        return None
    total = row.summary_total
    return row, UserSummary(
        online=row.summary_online,
        unread={"total_unread_count": total, "unread_count": total, "unread_channels": row.summary_channels},
        has_user_mutes=row.summary_user_mutes,
        has_channel_mutes=row.summary_channel_mutes,
        has_blocks=row.summary_blocks,
    )


def user_get(user_id: Any) -> ChatUser:
    if not isinstance(user_id, str) or not user_id:
        raise input_error("a user id is required")
    user = ChatUser.objects.filter(id=user_id).first()
    if user is None:
        raise not_found(f"user {user_id}")
    return user


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------
def _visible_channels(caller: Caller, user: ChatUser | None, filter_conditions: Any) -> QuerySet[Channel]:
    q = compile_filter(filter_conditions or {}, CHANNEL_SCHEMA, Context(user=user))
    queryset = Channel.objects.filter(q)
    if not caller.server and user is not None:
        if caller.multi_tenant and user.role not in permissions.CROSS_TEAM_ROLES:
            queryset = queryset.filter(team__in=user.teams) if user.teams else queryset.filter(team="")
        if user.role not in permissions.ADMIN_ROLES:
            queryset = queryset.filter(members__user=user)
    return queryset


def channels_query(
    *, caller: Caller, user: ChatUser | None, filter_conditions: Any, sort: Any, limit: Any, offset: Any
) -> list[Channel]:
    """Channels matching the filter, as seen by ``user`` (None: server-side,
    every team). Client-side queries are confined to the user's teams and to
    the channels it may read: those it is a member of, unless a grant lets it
    read others."""
    queryset = _visible_channels(caller, user, filter_conditions).select_related("created_by")
    if user is not None and not _names_field(filter_conditions, "hidden"):
        # A user's hidden channels stay out of its lists until a new message
        # arrives, unless the filter asks about them (Stream's rule).
        hidden = Member.objects.filter(channel=OuterRef("pk"), user=user, hidden=True)
        queryset = queryset.exclude(Exists(hidden))
    annotations = {"last_updated": channel_last_updated(), **_own_membership_sorts(user)}
    queryset = queryset.annotate(last_updated=annotations["last_updated"])
    orderings = parse_sort(sort, SORTABLE_CHANNEL_FIELDS, annotations) or [
        annotations["last_updated"].desc(nulls_last=True)
    ]
    limit_n = bounded_int(limit, name="limit", default=DEFAULT_CHANNEL_LIMIT, maximum=MAX_CHANNEL_LIMIT)
    offset_n = bounded_int(offset, name="offset", default=0, maximum=MAX_OFFSET)
    return list(queryset.order_by(*orderings, "cid").distinct()[offset_n : offset_n + limit_n])


def _names_field(conditions: Any, name: str) -> bool:
    """Whether a (valid) filter names ``name`` anywhere, inside ``$and`` /
    ``$or`` / ``$nor`` too."""
    if isinstance(conditions, list):
        return any(_names_field(item, name) for item in conditions)
    if not isinstance(conditions, dict):
        return False
    return any(
        key == name or (key in ("$and", "$or", "$nor") and _names_field(value, name))
        for key, value in conditions.items()
    )


def _own_membership_sorts(user: ChatUser | None) -> dict[str, Any]:
    """Sort keys read from the querying user's own membership of each channel:
    ``pinned_at`` (the UI kit sorts ``{pinned_at: -1}`` first to keep pinned
    channels on top), ``unread_count`` and ``has_unread``. Without a user there
    is no membership to read, and sorting by them is an input error."""
    if user is None:
        return {}
    own = Member.objects.filter(channel=OuterRef("pk"), user=user)
    return {
        "pinned_at": Subquery(own.values("pinned_at")[:1]),
        "unread_count": Subquery(own.values("unread_messages")[:1]),
        "has_unread": Exists(own.filter(unread_messages__gt=0)),
    }


def messages_search(
    *,
    caller: Caller,
    user: ChatUser | None,
    filter_conditions: Any,
    query: Any,
    message_filter_conditions: Any,
    sort: Any,
    limit: Any,
    offset: Any,
) -> list[Message]:
    """Messages of the channels ``filter_conditions`` selects (as queryChannels
    would for ``user``), matching ``query`` (words in the text) or
    ``message_filter_conditions``; newest first unless ``sort`` says otherwise."""
    if not isinstance(filter_conditions, dict) or not filter_conditions:
        raise input_error(
            'filter_conditions is required: the channels to search, e.g. {"members": {"$in": [...]}}'
        )
    if (query is None) == (message_filter_conditions is None):
        raise input_error("send either query (text) or message_filter_conditions, not both or neither")
    if query is not None and not isinstance(query, str):
        raise input_error("query must be text")
    # As in Stream, query is {"text": {"$q": query}}.
    conditions = {"text": {"$q": query}} if query is not None else message_filter_conditions
    matching = compile_filter(conditions, MESSAGE_SCHEMA, Context(user=user))
    channels = _visible_channels(caller, user, filter_conditions).values("cid")
    queryset = (
        Message.objects.filter(matching, channel__in=channels, deleted_at__isnull=True)
        .exclude(type=MessageType.DELETED)
        .select_related("user", "channel__created_by")
    )
    orderings = parse_sort(sort, SORTABLE_MESSAGE_FIELDS) or [F("created_at").desc()]
    limit_n = bounded_int(limit, name="limit", default=DEFAULT_SEARCH_LIMIT, maximum=MAX_SEARCH_LIMIT)
    offset_n = bounded_int(offset, name="offset", default=0, maximum=MAX_OFFSET)
    return list(queryset.order_by(*orderings, "id")[offset_n : offset_n + limit_n])


# Fields the flag query filters on, and the column each one reads.
_FLAG_FIELDS = {
    "channel_cid": "message__channel_id",
    "user_id": "user_id",
    "message_user_id": "message__user_id",
}


def _id_condition(name: str, value: Any) -> list[str]:
    """The ids a flag filter field names: a value, ``{"$eq": id}`` or ``{"$in": [ids]}``."""
    if isinstance(value, dict) and len(value) == 1 and ("$eq" in value or "$in" in value):
        value = value.get("$in", [value.get("$eq")])
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise input_error(f"{name} takes an id, {{'$eq': id}} or {{'$in': [ids]}}")
    return values


def _filtered_by_ids(
    queryset: QuerySet[Any], filter_conditions: Any, fields: dict[str, str], limit: Any, offset: Any
) -> list[Any]:
    """A moderation list: ``queryset`` narrowed by ``filter_conditions`` on
    ``fields`` (an id, ``$eq`` or ``$in`` each), newest first, one page."""
    conditions = filter_conditions or {}
    if not isinstance(conditions, dict):
        raise input_error("filter_conditions must be an object")
    check_filter_bounds(conditions)
    for name, value in conditions.items():
        if name not in fields:
            raise input_error(f"field {name} is not allowed in this filter (use {', '.join(fields)})")
        queryset = queryset.filter(**{f"{fields[name]}__in": _id_condition(name, value)})
    limit_n = bounded_int(limit, name="limit", default=DEFAULT_SEARCH_LIMIT, maximum=MAX_SEARCH_LIMIT)
    offset_n = bounded_int(offset, name="offset", default=0, maximum=MAX_OFFSET)
    return list(queryset.order_by("-created_at", "-id")[offset_n : offset_n + limit_n])


def message_flags_query(*, filter_conditions: Any, limit: Any, offset: Any) -> list[Flag]:
    """Flags of messages, newest first, filtered on the ``channel_cid``, the
    flagging ``user_id`` or the message's author (``message_user_id``)."""
    queryset = Flag.objects.filter(message__isnull=False).select_related(
        "user", "message__user", "message__channel"
    )
    return _filtered_by_ids(queryset, filter_conditions, _FLAG_FIELDS, limit, offset)


# Fields the ban query filters on, and the column each one reads.
_BAN_FIELDS = {"channel_cid": "channel_id", "user_id": "user_id", "banned_by_id": "banned_by_id"}


def bans_query(*, filter_conditions: Any, limit: Any, offset: Any) -> list[Ban]:
    """Bans in force, newest first, filtered on ``channel_cid``, ``user_id`` or ``banned_by_id``."""
    queryset = Ban.objects.active().select_related("user", "banned_by", "channel__created_by")
    return _filtered_by_ids(queryset, filter_conditions, _BAN_FIELDS, limit, offset)


def _in_callers_teams(queryset: QuerySet[ChatUser], caller: Caller) -> QuerySet[ChatUser]:
    """Stream injects the caller's teams into client-side user lookups."""
    user = caller.user
    if caller.server or user is None or not caller.multi_tenant or user.role in permissions.CROSS_TEAM_ROLES:
        return queryset
    if user.teams:
        return queryset.filter(team_links__team__in=user.teams)
    return queryset.filter(team_links__isnull=True)


def users_reachable(caller: Caller, user_ids: list[str]) -> dict[str, ChatUser]:
    """The named users the caller may see (its teams' for a client), by id."""
    queryset = ChatUser.objects.filter(id__in=user_ids, deleted_at__isnull=True)
    return {user.id: user for user in _in_callers_teams(queryset, caller).distinct()}


def users_query(
    *,
    caller: Caller,
    filter_conditions: Any,
    sort: Any,
    limit: Any,
    offset: Any,
    include_deactivated: bool,
) -> list[ChatUser]:
    q = compile_filter(filter_conditions or {}, USER_SCHEMA, Context(user=caller.user))
    queryset = ChatUser.objects.filter(q, deleted_at__isnull=True)
    if not include_deactivated:
        queryset = queryset.filter(deactivated_at__isnull=True)
    queryset = _in_callers_teams(queryset, caller)
    orderings = parse_sort(sort, SORTABLE_USER_FIELDS) or [SORTABLE_USER_FIELDS["created_at"].desc()]
    limit_n = bounded_int(limit, name="limit", default=30, maximum=100)
    offset_n = bounded_int(offset, name="offset", default=0, maximum=MAX_OFFSET)
    return list(queryset.order_by(*orderings, "id").distinct()[offset_n : offset_n + limit_n])


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


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------
def _message_queryset() -> QuerySet[Message]:
    # Who pinned a message is part of its payload: read along (rarely set, so
    # the join costs little), not in a query of its own.
    return Message.objects.select_related("user", "pinned_by")


def _pivot(message_id: Any, scope: Q) -> Message:
    if not isinstance(message_id, str) or not message_id:
        raise input_error("pagination ids must be message ids")
    pivot = Message.objects.filter(scope, id=message_id).only("id", "created_at").first()
    if pivot is None:
        raise input_error(f"message {message_id} is not in this list")
    return pivot


def _after(pivot: Message) -> Q:
    return Q(created_at__gt=pivot.created_at) | Q(created_at=pivot.created_at, id__gt=pivot.id)


def _before(pivot: Message) -> Q:
    return Q(created_at__lt=pivot.created_at) | Q(created_at=pivot.created_at, id__lt=pivot.id)


def messages_page(
    scope: Q, options: dict[str, Any], *, default_limit: int = DEFAULT_MESSAGE_LIMIT
) -> list[Message]:
    """One page of a message list (a channel's history or a thread), ascending.

    Ids are client-chosen and unordered, so ``id_lt`` / ``id_gt`` / ``id_around``
    resolve the pivot message and page by ``(created_at, id)``; without a pivot
    the page is the newest ``limit`` messages.
    """
    limit = bounded_int(options.get("limit"), name="limit", default=default_limit, maximum=MAX_MESSAGE_LIMIT)
    if limit == 0:
        return []
    queryset = _message_queryset().filter(scope)
    for name, op in (
        ("created_at_after", "gt"),
        ("created_at_after_or_equal", "gte"),
        ("created_at_before", "lt"),
        ("created_at_before_or_equal", "lte"),
    ):
        if options.get(name):
            queryset = queryset.filter(**{f"created_at__{op}": parse_date(name, options[name])})
    if options.get("id_gt"):
        pivot = _pivot(options["id_gt"], scope)
        return list(queryset.filter(_after(pivot)).order_by("created_at", "id")[:limit])
    if options.get("id_gte"):
        pivot = _pivot(options["id_gte"], scope)
        return list(queryset.filter(_after(pivot) | Q(id=pivot.id)).order_by("created_at", "id")[:limit])
    if options.get("id_around") or options.get("created_at_around"):
        if options.get("id_around"):
            pivot = _pivot(options["id_around"], scope)
            at, pivot_id = pivot.created_at, pivot.id
        else:
            at, pivot_id = parse_date("created_at_around", options["created_at_around"]), ""
        half = limit // 2
        older = list(
            queryset.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pivot_id)).order_by(
                "-created_at", "-id"
            )[:half]
        )
        newer = list(
            queryset.filter(Q(created_at__gt=at) | Q(created_at=at, id__gte=pivot_id)).order_by(
                "created_at", "id"
            )[: limit - len(older)]
        )
        return [*reversed(older), *newer]
    if options.get("id_lt") or options.get("id_lte"):
        pivot = _pivot(options.get("id_lt") or options["id_lte"], scope)
        condition = _before(pivot) if options.get("id_lt") else _before(pivot) | Q(id=pivot.id)
        queryset = queryset.filter(condition)
    return list(reversed(queryset.order_by("-created_at", "-id")[:limit]))


IN_CHANNEL_HISTORY = Q(parent__isnull=True) | Q(show_in_channel=True)
PAGINATION_KEYS = frozenset(
    {
        "id_lt",
        "id_lte",
        "id_gt",
        "id_gte",
        "id_around",
        "created_at_around",
        "created_at_after",
        "created_at_after_or_equal",
        "created_at_before",
        "created_at_before_or_equal",
    }
)


def channel_history_scope(channel: Channel) -> Q:
    """A channel's history: its messages but thread-only replies (truncating a
    channel deletes its messages, so there is nothing older to hide)."""
    return Q(channel=channel) & IN_CHANNEL_HISTORY


def _top_per_channel(
    queryset: QuerySet[Any], channels: list[Channel], order: list[Any], limit: int, offset: int = 0
) -> dict[str, list[Any]]:
    """The first ``limit`` rows (after ``offset``) of ``queryset`` in each of
    ``channels``, in one query (a window function ranks rows per channel)."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    if limit <= 0 or not channels:
        return grouped
    ranked = (
        queryset.filter(channel__in=channels)
        .annotate(rank=Window(RowNumber(), partition_by=F("channel_id"), order_by=order))
        .filter(rank__gt=offset, rank__lte=offset + limit)
    )
    for row in ranked:
        grouped[row.channel_id].append(row)
    return grouped


PINNED_LIMIT = 10


def latest_and_pinned_per_channel(
    channels: list[Channel], limit: int, pinned_limit: int = PINNED_LIMIT
) -> tuple[dict[str, list[Message]], dict[str, list[Message]]]:
    """Each channel's newest ``limit`` history messages (ascending) and its
    newest ``pinned_limit`` pins (``pinned_messages_per_channel``), in one
    query: two ranks per channel over the rows of either list, each
    ordering the rows of its own list first (so a rank within the limit is one
    of its rows whenever the list is that long); the few rows that rank in by
    making up a short list are dropped here."""
    grouped_history: dict[str, list[Message]] = defaultdict(list)
    grouped_pins: dict[str, list[Message]] = defaultdict(list)
    if not channels:
        return grouped_history, grouped_pins
    pinned = Q(pinned=True, deleted_at__isnull=True)
    newest = [F("created_at").desc(), F("id").desc()]
    rows = (
        _message_queryset()
        .filter(IN_CHANNEL_HISTORY | pinned, channel__in=channels)
        .annotate(
            in_history=ExpressionWrapper(IN_CHANNEL_HISTORY, output_field=BooleanField()),
            in_pins=ExpressionWrapper(pinned, output_field=BooleanField()),
        )
        .annotate(
            history_rank=Window(
                RowNumber(), partition_by=F("channel_id"), order_by=[F("in_history").desc(), *newest]
            ),
            pin_rank=Window(
                RowNumber(),
                partition_by=F("channel_id"),
                order_by=[F("in_pins").desc(), F("pinned_at").desc(nulls_last=True), *newest],
            ),
        )
        .filter(Q(history_rank__lte=limit) | Q(pin_rank__lte=pinned_limit))
    )
    for row in rows:
        if row.in_history and row.history_rank <= limit:
            grouped_history[row.channel_id].append(row)
        if row.in_pins and row.pin_rank <= pinned_limit:
            grouped_pins[row.channel_id].append(row)
    for page in grouped_history.values():
        page.sort(key=lambda m: (m.created_at, m.id))
    for page in grouped_pins.values():
        page.sort(key=lambda m: m.pin_rank)  # type: ignore[attr-defined]  # annotated by the query
    return grouped_history, grouped_pins


def pinned_messages_per_channel(
    channels: list[Channel], limit: int = PINNED_LIMIT
) -> dict[str, list[Message]]:
    return _top_per_channel(
        _message_queryset().filter(pinned=True, deleted_at__isnull=True),
        channels,
        [F("pinned_at").desc()],
        limit,
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
    return _top_per_channel(
        queryset,
        channels,
        [F("created_at").asc(), F("user_id").asc()],
        limit,
        offset,
    )


def thread_scope(parent: Message) -> Q:
    return Q(parent=parent)


# ---------------------------------------------------------------------------
# Read state and watchers
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------
def blocks_of(user: ChatUser) -> list[UserBlock]:
    """``user``'s blocks of users that still exist, oldest first."""
    return list(
        UserBlock.objects.filter(user=user, target__deleted_at__isnull=True)
        .select_related("user", "target")
        .order_by("created_at", "id")
    )


def conversations_of(user: ChatUser, other_id: str) -> list[Channel]:
    """The channels whose only members are ``user`` and ``other_id``."""
    return list(
        Channel.objects.filter(member_count=CONVERSATION_MEMBERS, members__user=user)
        .filter(members__user_id=other_id)
        .select_related("created_by")
    )


def blockers_known(access: Access) -> list[str] | None:
    """``blockers_in`` of the access's channel for its member, when the lookup
    that made the access already answered it (``channel_access``), else ``None``."""
    member = access.member
    if member is None or not hasattr(member, "blocked_by"):
        return None
    if access.channel.member_count != CONVERSATION_MEMBERS:
        return []
    return [member.blocked_by] if member.blocked_by else []


def blockers_in(channel: Channel, actor_id: str) -> list[str]:
    """The members of ``channel`` who block ``actor_id`` and so must not hear
    from it there: in a conversation of the two of them only (group channels
    are not touched by a block, and cost no query)."""
    if channel.member_count != CONVERSATION_MEMBERS:
        return []
    return list(
        UserBlock.objects.filter(
            target_id=actor_id, user__memberships__channel=channel, target__memberships__channel=channel
        ).values_list("user_id", flat=True)
    )


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


def blocked_conversations(user: ChatUser, channels: list[Channel]) -> set[str]:
    """The cids among ``channels`` that are ``user``'s conversations with
    someone it blocks (``blocked: true`` in its channel states)."""
    pairs = [channel for channel in channels if channel.member_count == CONVERSATION_MEMBERS]
    if not pairs:
        return set()
    blocked = UserBlock.objects.filter(user=user).values("target_id")
    return set(
        Member.objects.filter(channel__in=pairs, user_id__in=blocked)
        .filter(channel__members__user=user)
        .values_list("channel_id", flat=True)
    )
