"""REST routes of the built-in chat engine: Stream's paths, mounted at
``/chat-api/`` by the project and at the root by :mod:`chatengine.standalone`.
Each path also answers with a trailing slash."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from chatengine.api import views
from chatengine.api.http import routes

SEGMENT = r"[^/]+"
CHANNEL = rf"channels/(?P<channel_type>{SEGMENT})/(?P<channel_id>{SEGMENT})"
MESSAGE = rf"messages/(?P<message_id>{SEGMENT})"


def _path(pattern: str, name: str, **handlers: views.Any) -> URLPattern:
    return re_path(rf"^{pattern}/?$", routes(**handlers), name=f"chatengine-{name}")


urlpatterns: list[URLPattern] = [
    _path("app", "app", GET=views.app_get, PATCH=views.app_update),
    _path("roles", "roles", GET=views.roles_list, POST=views.role_create),
    _path(rf"roles/(?P<name>{SEGMENT})", "role", DELETE=views.role_delete),
    _path("channeltypes", "channel-types", GET=views.channel_types_list, POST=views.channel_type_create),
    _path(
        rf"channeltypes/(?P<name>{SEGMENT})",
        "channel-type",
        GET=views.channel_type_get,
        PUT=views.channel_type_update,
    ),
    _path(rf"tasks/(?P<task_id>{SEGMENT})", "task", GET=views.task_get),
    # Users
    _path(
        "users",
        "users",
        GET=views.users_query,
        POST=views.users_upsert,
        PATCH=views.users_update_partial,
    ),
    _path("users/deactivate", "users-deactivate", POST=views.users_deactivate),
    _path("users/reactivate", "users-reactivate", POST=views.users_reactivate),
    _path("users/delete", "users-delete", POST=views.users_delete),
    _path(rf"users/(?P<user_id>{SEGMENT})/deactivate", "user-deactivate", POST=views.user_deactivate),
    _path(rf"users/(?P<user_id>{SEGMENT})/reactivate", "user-reactivate", POST=views.user_reactivate),
    _path(rf"users/(?P<user_id>{SEGMENT})", "user", DELETE=views.user_delete),
    # Channels
    _path("channels", "channels", POST=views.channels_query),
    _path("channels/delete", "channels-delete", POST=views.channels_delete),
    _path("channels/delivered", "channels-delivered", POST=views.channels_delivered),
    _path(rf"channels/(?P<channel_type>{SEGMENT})/query", "channel-distinct-query", POST=views.channel_query),
    _path(rf"{CHANNEL}/query", "channel-query", POST=views.channel_query),
    _path(
        CHANNEL,
        "channel",
        POST=views.channel_update,
        PATCH=views.channel_update_partial,
        DELETE=views.channel_delete,
    ),
    _path(rf"{CHANNEL}/message", "channel-message", POST=views.message_send),
    _path(rf"{CHANNEL}/event", "channel-event", POST=views.channel_event),
    _path(rf"{CHANNEL}/read", "channel-read", POST=views.channel_mark_read),
    _path(rf"{CHANNEL}/unread", "channel-unread", POST=views.channel_mark_unread),
    _path(rf"{CHANNEL}/stop-watching", "channel-stop-watching", POST=views.stop_watching),
    _path(rf"{CHANNEL}/hide", "channel-hide", POST=views.channel_hide),
    _path(rf"{CHANNEL}/show", "channel-show", POST=views.channel_show),
    _path(rf"{CHANNEL}/truncate", "channel-truncate", POST=views.channel_truncate),
    _path(rf"{CHANNEL}/member", "channel-member", PATCH=views.member_update_partial),
    _path("members", "members", GET=views.members_query),
    # Messages
    _path(
        MESSAGE,
        "message",
        GET=views.message_get,
        POST=views.message_update,
        PUT=views.message_update_partial,
        DELETE=views.message_delete,
    ),
    _path(rf"{MESSAGE}/replies", "message-replies", GET=views.message_replies),
    _path(rf"{MESSAGE}/reaction", "message-reaction", POST=views.reaction_send),
    _path(
        rf"{MESSAGE}/reaction/(?P<reaction_type>{SEGMENT})",
        "message-reaction-delete",
        DELETE=views.reaction_delete,
    ),
    _path(
        rf"{MESSAGE}/reactions", "message-reactions", GET=views.reactions_query, POST=views.reactions_query
    ),
]
