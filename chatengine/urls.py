"""REST routes of the built-in chat engine: Stream's paths, mounted at
``/chat-api/`` by the project and at the root by :mod:`chatengine.standalone`.
Each path also answers with a trailing slash."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from chatengine.api import app as app_views
from chatengine.api import channels as channel_views
from chatengine.api import messages as message_views
from chatengine.api import moderation as moderation_views
from chatengine.api import uploads as upload_views
from chatengine.api import users as user_views
from chatengine.api.http import View, routes, unknown_endpoint
from chatengine.api.index import index

SEGMENT = r"[^/]+"
CHANNEL = rf"channels/(?P<channel_type>{SEGMENT})/(?P<channel_id>{SEGMENT})"
MESSAGE = rf"messages/(?P<message_id>{SEGMENT})"


def _path(pattern: str, name: str, **handlers: View) -> URLPattern:
    return re_path(rf"^{pattern}/?$", routes(**handlers), name=f"chatengine-{name}")


urlpatterns: list[URLPattern] = [
    re_path(r"^$", index, name="chatengine-index"),
    _path("app", "app", GET=app_views.app_get, PATCH=app_views.app_update),
    _path("roles", "roles", GET=app_views.roles_list, POST=app_views.role_create),
    _path(rf"roles/(?P<name>{SEGMENT})", "role", DELETE=app_views.role_delete),
    _path(
        "channeltypes", "channel-types", GET=app_views.channel_types_list, POST=app_views.channel_type_create
    ),
    _path(
        rf"channeltypes/(?P<name>{SEGMENT})",
        "channel-type",
        GET=app_views.channel_type_get,
        PUT=app_views.channel_type_update,
    ),
    _path(rf"tasks/(?P<task_id>{SEGMENT})", "task", GET=app_views.task_get),
    # Users
    _path(
        "users",
        "users",
        GET=user_views.users_query,
        POST=user_views.users_upsert,
        PATCH=user_views.users_update_partial,
    ),
    _path("users/deactivate", "users-deactivate", POST=user_views.users_deactivate),
    _path("users/reactivate", "users-reactivate", POST=user_views.users_reactivate),
    _path("users/delete", "users-delete", POST=user_views.users_delete),
    _path("users/block", "users-block", GET=user_views.users_blocked, POST=user_views.users_block),
    _path("users/unblock", "users-unblock", POST=user_views.users_unblock),
    _path(rf"users/(?P<user_id>{SEGMENT})/deactivate", "user-deactivate", POST=user_views.user_deactivate),
    _path(rf"users/(?P<user_id>{SEGMENT})/reactivate", "user-reactivate", POST=user_views.user_reactivate),
    _path(rf"users/(?P<user_id>{SEGMENT})", "user", DELETE=user_views.user_delete),
    # Channels
    _path("channels", "channels", POST=channel_views.channels_query),
    _path("channels/delete", "channels-delete", POST=channel_views.channels_delete),
    _path("channels/delivered", "channels-delivered", POST=channel_views.channels_delivered),
    _path(
        rf"channels/(?P<channel_type>{SEGMENT})/query",
        "channel-distinct-query",
        POST=channel_views.channel_query,
    ),
    _path(rf"{CHANNEL}/query", "channel-query", POST=channel_views.channel_query),
    _path(
        CHANNEL,
        "channel",
        POST=channel_views.channel_update,
        PATCH=channel_views.channel_update_partial,
        DELETE=channel_views.channel_delete,
    ),
    _path(rf"{CHANNEL}/message", "channel-message", POST=message_views.message_send),
    _path(rf"{CHANNEL}/event", "channel-event", POST=channel_views.channel_event),
    _path(rf"{CHANNEL}/read", "channel-read", POST=channel_views.channel_mark_read),
    _path(rf"{CHANNEL}/unread", "channel-unread", POST=channel_views.channel_mark_unread),
    _path(rf"{CHANNEL}/stop-watching", "channel-stop-watching", POST=channel_views.stop_watching),
    _path(rf"{CHANNEL}/hide", "channel-hide", POST=channel_views.channel_hide),
    _path(rf"{CHANNEL}/show", "channel-show", POST=channel_views.channel_show),
    _path(rf"{CHANNEL}/truncate", "channel-truncate", POST=channel_views.channel_truncate),
    _path(rf"{CHANNEL}/member", "channel-member", PATCH=channel_views.member_update_partial),
    _path(
        rf"{CHANNEL}/member/(?P<user_id>{SEGMENT})",
        "channel-member-user",
        PATCH=channel_views.member_update_partial,
    ),
    _path(rf"{CHANNEL}/file", "channel-file", POST=upload_views.file_upload, DELETE=upload_views.file_delete),
    _path(
        rf"{CHANNEL}/image", "channel-image", POST=upload_views.image_upload, DELETE=upload_views.image_delete
    ),
    # Not Stream's API: where uploads are served (the links the two above answer with).
    re_path(
        r"^uploads/(?P<upload_id>[A-Za-z0-9_-]{20,64})/(?P<name>[^/]+)$",
        upload_views.upload_serve,
        name="chatengine-upload",
    ),
    _path("members", "members", GET=channel_views.members_query),
    # Messages
    _path(
        MESSAGE,
        "message",
        GET=message_views.message_get,
        POST=message_views.message_update,
        PUT=message_views.message_update_partial,
        DELETE=message_views.message_delete,
    ),
    _path(rf"{MESSAGE}/replies", "message-replies", GET=message_views.message_replies),
    _path(rf"{MESSAGE}/reaction", "message-reaction", POST=message_views.reaction_send),
    _path(
        rf"{MESSAGE}/reaction/(?P<reaction_type>{SEGMENT})",
        "message-reaction-delete",
        DELETE=message_views.reaction_delete,
    ),
    _path(
        rf"{MESSAGE}/reactions",
        "message-reactions",
        GET=message_views.reactions_query,
        POST=message_views.reactions_query,
    ),
    _path("search", "search", GET=message_views.messages_search),
    # Mutes
    _path("moderation/mute", "mute-user", POST=moderation_views.mute_user),
    _path("moderation/unmute", "unmute-user", POST=moderation_views.unmute_user),
    _path("moderation/mute/channel", "mute-channel", POST=moderation_views.mute_channel),
    _path("moderation/unmute/channel", "unmute-channel", POST=moderation_views.unmute_channel),
    # Flags
    _path("moderation/flag", "flag", POST=moderation_views.flag),
    _path("moderation/unflag", "unflag", POST=moderation_views.unflag),
    _path("moderation/flags/message", "message-flags", GET=moderation_views.message_flags_query),
    # Bans
    _path("moderation/ban", "ban", POST=moderation_views.ban, DELETE=moderation_views.unban),
    _path("query_banned_users", "banned-users", GET=moderation_views.banned_users_query),
    # Last: everything else under the engine answers in Stream's envelope.
    re_path(r"^", unknown_endpoint, name="chatengine-unknown"),
]
