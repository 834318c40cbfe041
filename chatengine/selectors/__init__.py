"""Reads and access checks of the chat engine.

- ``paging``: page sizes and their bounds, and the first rows of a query per channel
- ``access``: who may do what in a channel, and the lookups of a channel, a
  membership or a message as a caller may know them
- ``lists``: channel lists, message search, and the moderation lists of flags and bans
- ``users``: users, user lists, the handshake's user summary, and blocks
- ``members``: member lists, members per channel, unread totals and a new message's audience
- ``messages``: pages of a channel's history or a thread, and the newest messages and pins per channel

The rest of the engine imports from here.
"""

from chatengine.selectors.access import (
    Access,
    ChannelTypes,
    access_for,
    banned_channels,
    channel_access,
    channel_get,
    channel_get_for_user,
    check_team,
    may_read,
    member_get,
    membership_for_update,
    message_get,
    message_get_for_user,
    team_sees,
)
from chatengine.selectors.lists import bans_query, channels_query, message_flags_query, messages_search
from chatengine.selectors.members import (
    Audience,
    channel_audience,
    channel_members,
    members_per_channel,
    members_query,
    unread_totals,
    viewer_memberships,
)
from chatengine.selectors.messages import (
    IN_CHANNEL_HISTORY,
    PAGINATION_KEYS,
    PINNED_LIMIT,
    channel_history_scope,
    latest_and_pinned_per_channel,
    messages_page,
    pinned_messages_per_channel,
    thread_scope,
)
from chatengine.selectors.paging import (
    DEFAULT_CHANNEL_LIMIT,
    DEFAULT_MEMBER_LIMIT,
    DEFAULT_MESSAGE_LIMIT,
    DEFAULT_SEARCH_LIMIT,
    MAX_CHANNEL_LIMIT,
    MAX_MESSAGE_LIMIT,
    MAX_OFFSET,
    MAX_SEARCH_LIMIT,
    bounded_int,
    top_per_channel,
)
from chatengine.selectors.users import (
    UserSummary,
    blocked_conversations,
    blockers_in,
    blockers_known,
    blocks_of,
    conversations_of,
    user_get,
    user_with_summary,
    users_query,
    users_reachable,
)

__all__ = [
    "DEFAULT_CHANNEL_LIMIT",
    "DEFAULT_MEMBER_LIMIT",
    "DEFAULT_MESSAGE_LIMIT",
    "DEFAULT_SEARCH_LIMIT",
    "IN_CHANNEL_HISTORY",
    "MAX_CHANNEL_LIMIT",
    "MAX_MESSAGE_LIMIT",
    "MAX_OFFSET",
    "MAX_SEARCH_LIMIT",
    "PAGINATION_KEYS",
    "PINNED_LIMIT",
    "Access",
    "Audience",
    "ChannelTypes",
    "UserSummary",
    "access_for",
    "banned_channels",
    "bans_query",
    "blocked_conversations",
    "blockers_in",
    "blockers_known",
    "blocks_of",
    "bounded_int",
    "channel_access",
    "channel_audience",
    "channel_get",
    "channel_get_for_user",
    "channel_history_scope",
    "channel_members",
    "channels_query",
    "check_team",
    "conversations_of",
    "latest_and_pinned_per_channel",
    "may_read",
    "member_get",
    "members_per_channel",
    "members_query",
    "membership_for_update",
    "message_flags_query",
    "message_get",
    "message_get_for_user",
    "messages_page",
    "messages_search",
    "pinned_messages_per_channel",
    "team_sees",
    "thread_scope",
    "top_per_channel",
    "unread_totals",
    "user_get",
    "user_with_summary",
    "users_query",
    "users_reachable",
    "viewer_memberships",
]
