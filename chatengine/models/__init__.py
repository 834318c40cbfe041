"""The chat engine's own tables: the Stream data model (app, users, channel
types, channels, members with their read state, messages, reactions) plus the
registry of live WebSocket connections and what each one watches.

Ids are Stream's: user ids and message ids are chosen by the caller, a channel
is named by its ``cid`` (``type:id``). Nothing here refers to the control plane.

Each group of tables has a module of its own; this one registers them all with
Django and is where the rest of the engine imports them from:

- ``base``: the id and name length limits, ``StorableValues`` (every table's base)
- ``app``: the app, custom roles, channel types, tasks
- ``users``: chat users, deleted user ids, the team index
- ``channels``: channels and their members
- ``messages``: messages and reactions
- ``connections``: live WebSocket connections and what they watch
- ``moderation``: user and channel mutes, user blocks, bans, flags
- ``uploads``: files and images sent to channels
"""

from chatengine.models.app import App, ChannelType, Role, Task, TaskStatus
from chatengine.models.base import (
    CHANNEL_ID_MAX_LENGTH,
    ID_MAX_LENGTH,
    ROLE_MAX_LENGTH,
    TEAM_MAX_LENGTH,
    StorableValues,
)
from chatengine.models.channels import Channel, ChannelRole, Member
from chatengine.models.connections import CONNECTION_STALE_AFTER, Connection, ConnectionQuerySet, Watch
from chatengine.models.messages import Message, MessageType, Reaction
from chatengine.models.moderation import (
    CONVERSATION_MEMBERS,
    Ban,
    ChannelMute,
    ExpiringQuerySet,
    Flag,
    UserBlock,
    UserMute,
)

# ``_upload_path`` is named by migration 0002 as ``chatengine.models._upload_path``.
from chatengine.models.uploads import Upload, UploadKind, _upload_path
from chatengine.models.users import ChatUser, DeletedUser, UserTeam

__all__ = [
    "CHANNEL_ID_MAX_LENGTH",
    "CONNECTION_STALE_AFTER",
    "CONVERSATION_MEMBERS",
    "ID_MAX_LENGTH",
    "ROLE_MAX_LENGTH",
    "TEAM_MAX_LENGTH",
    "App",
    "Ban",
    "Channel",
    "ChannelMute",
    "ChannelRole",
    "ChannelType",
    "ChatUser",
    "Connection",
    "ConnectionQuerySet",
    "DeletedUser",
    "ExpiringQuerySet",
    "Flag",
    "Member",
    "Message",
    "MessageType",
    "Reaction",
    "Role",
    "StorableValues",
    "Task",
    "TaskStatus",
    "Upload",
    "UploadKind",
    "UserBlock",
    "UserMute",
    "UserTeam",
    "Watch",
    "_upload_path",
]
