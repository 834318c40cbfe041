"""Lists read by filter and sort: channels (``queryChannels``), message
search, and the moderation lists of flags and bans."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

from chatengine import permissions
from chatengine.auth import Caller
from chatengine.errors import input_error
from chatengine.filters import (
    CHANNEL_SCHEMA,
    MESSAGE_SCHEMA,
    SORTABLE_CHANNEL_FIELDS,
    SORTABLE_MESSAGE_FIELDS,
    Context,
    channel_last_updated,
    check_filter_bounds,
    compile_filter,
    parse_sort,
)
from chatengine.models import Ban, Channel, ChatUser, Flag, Member, Message, MessageType
from chatengine.selectors.paging import (
    DEFAULT_CHANNEL_LIMIT,
    DEFAULT_SEARCH_LIMIT,
    MAX_CHANNEL_LIMIT,
    MAX_OFFSET,
    MAX_SEARCH_LIMIT,
    bounded_int,
)


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
