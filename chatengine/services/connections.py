"""The registry of live WebSocket connections and the channels each watches.

A REST request with ``watch: true`` names its socket by ``connection_id``; any
server process can then subscribe that socket, because the registry lives in
the database and the subscription in the (shared) channel layer.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from chatengine import events, sendpath, watchpath
from chatengine.auth import Caller
from chatengine.models import Channel, ChatUser, Connection, Member, Watch
from chatengine.selectors import ChannelTypes, may_read
from chatengine.serializers import user_payload
from chatengine.services.app import app_get
from chatengine.watchpath import Watchers

# Seconds between two sweeps of stale connections by one process. Rows of dead
# sockets are ignored as soon as they go stale (``Connection.objects.live``):
# the sweep only keeps the table small, so it need not cost every handshake.
STALE_SWEEP_EVERY = 60.0
_last_sweep = {"at": -STALE_SWEEP_EVERY}


def _sweep_stale_connections() -> None:
    """Forget the sockets of processes that died (they never said goodbye), at
    most once per ``STALE_SWEEP_EVERY`` seconds per process."""
    now = time.monotonic()
    if now - _last_sweep["at"] < STALE_SWEEP_EVERY:
        return
    _last_sweep["at"] = now
    stale = Connection.objects.stale()
    if stale.exists():
        stale.delete()


def connection_open(*, user: ChatUser, channel_name: str, was_online: bool | None = None) -> Connection:
    """Register a socket of ``user`` (already authenticated); tell the users who
    watch its channels that it came online if it was not (``was_online``, looked
    up unless the caller knows it). ``user.last_active`` is set in place."""
    now = timezone.now()
    _sweep_stale_connections()
    if was_online is None:
        was_online = Connection.objects.live().filter(user=user).exists()
    connection = Connection(
        id=str(uuid.uuid4()), channel_name=channel_name, user=user, created_at=now, last_seen=now
    )
    watchpath.connection_insert(connection, last_active=now)
    user.last_active = now
    if not was_online:
        _presence_changed(user, online=True)
    return connection


# Connection ids written by one UPDATE (under any database's parameter limit).
SEEN_BATCH = 2000


def connections_seen(*, connection_ids: list[str]) -> None:
    """Pings arrived on these connections since the last call: they are alive
    (one UPDATE for up to ``SEEN_BATCH`` of them)."""
    now = timezone.now()
    for start in range(0, len(connection_ids), SEEN_BATCH):
        Connection.objects.filter(id__in=connection_ids[start : start + SEEN_BATCH]).update(last_seen=now)


def connection_for(*, connection_id: str | None, user: ChatUser | None) -> Connection | None:
    """The caller's own connection named ``connection_id``; another user's
    connection is treated as absent, so nobody subscribes someone else's socket."""
    if not connection_id or user is None:
        return None
    return watchpath.live_connection(connection_id, user)


def channels_watch(
    *, connection: Connection, channels: list[Channel], presence: bool = False, watcher_limit: int = 10
) -> dict[str, Watchers]:
    """Subscribe ``connection`` to ``channels`` (already access-checked); tell
    each channel's watchers when this user starts watching it (a socket that
    watched it already, or another live socket of the same user, starts
    nothing). With ``presence`` the socket also hears its members coming
    online and going offline (``user.presence.changed``). Returns the
    channels' watchers afterwards (``channel_watchers``, the first
    ``watcher_limit`` listed): the states built next count and list them.

    Two queries whatever the number of channels: the watches written in one
    statement that says which are new, and the watchers read once (a third
    when a socket that already watched some of them now asks for presence)."""
    if not channels:
        return {}
    cids = [channel.cid for channel in channels]
    started = _watches_insert(connection, cids, presence=presence)
    if presence and len(started) < len(cids):
        Watch.objects.filter(
            connection=connection, channel_id__in=[cid for cid in cids if cid not in started], presence=False
        ).update(presence=True)
    events.subscribe([connection.channel_name], [channel.cid for channel in channels])
    watchers = channel_watchers(channels, limit=watcher_limit, connection=connection)
    for channel in channels:
        found = watchers[channel.cid]
        if channel.cid not in started or found.elsewhere:
            continue
        _watching_event("user.watching.start", channel, connection.user, found.count)
    return watchers


def _watches_insert(connection: Connection, cids: list[str], *, presence: bool) -> set[str]:
    """Write the watches of ``connection`` on ``cids``; return the cids it did
    not watch yet. One statement, atomic by itself (no transaction around it),
    and both PostgreSQL and SQLite say which rows it inserted (``RETURNING``),
    which ``bulk_create(ignore_conflicts=True)`` does not."""
    quote = db_connection.ops.quote_name
    meta = Watch._meta
    table = quote(meta.db_table)
    connection_column = quote(meta.get_field("connection").column)
    channel_column = quote(meta.get_field("channel").column)
    presence_column = quote(meta.get_field("presence").column)
    rows = ", ".join(["(%s, %s, %s)"] * len(cids))
    # Only quoted names of this model and placeholders are formatted in; the values are parameters.
    sql = (
        f"INSERT INTO {table} ({connection_column}, {channel_column}, {presence_column}) "  # noqa: S608
        f"VALUES {rows} ON CONFLICT DO NOTHING RETURNING {channel_column}"
    )
    params = [value for cid in cids for value in (connection.id, cid, presence)]
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def channel_watchers(
    channels: list[Channel], *, limit: int, connection: Connection | None = None
) -> dict[str, Watchers]:
    """Who watches each of ``channels`` from a live socket (``watchpath.Watchers``:
    how many users, the first ``limit`` of them, and whether the user of
    ``connection`` watches from another socket too), in one query."""
    return watchpath.channel_watchers(
        [channel.cid for channel in channels],
        limit=limit,
        connection_id=connection.id if connection else "",
        user_id=connection.user_id if connection else "",
    )


@transaction.atomic
def channel_stop_watching(*, connection: Connection, channel: Channel) -> None:
    deleted, _ = Watch.objects.filter(connection=connection, channel=channel).delete()
    events.unsubscribe([connection.channel_name], [channel.cid])
    if deleted and not Watch.objects.filter(channel=channel, connection__user_id=connection.user_id).exists():
        _watching_event("user.watching.stop", channel, connection.user)


@transaction.atomic
def connection_close(*, connection_id: str) -> None:
    connection = Connection.objects.select_related("user").filter(id=connection_id).first()
    if connection is None:
        return
    channels = list(Channel.objects.filter(watches__connection=connection))
    connection.delete()
    events.unsubscribe([connection.channel_name], [channel.cid for channel in channels])
    still_watching = set(
        Watch.objects.filter(channel__in=channels, connection__user_id=connection.user_id).values_list(
            "channel_id", flat=True
        )
    )
    for channel in channels:
        if channel.cid not in still_watching:
            _watching_event("user.watching.stop", channel, connection.user)
    now = timezone.now()
    ChatUser.objects.filter(pk=connection.user_id).update(last_active=now)
    if not Connection.objects.live().filter(user_id=connection.user_id).exists():
        connection.user.last_active = now
        _presence_changed(connection.user, online=False)


def watches_end(channel: Channel, user_ids: list[str] | None = None) -> None:
    """Unsubscribe the sockets of ``user_ids`` (of every watcher, without them)
    from ``channel``, after the events already queued: removed members and the
    watchers of a deleted channel hear nothing more from it. The remaining
    watchers of a channel that stays hear ``user.watching.stop``."""
    watches = Watch.objects.filter(channel=channel)
    if user_ids is not None:
        watches = watches.filter(connection__user_id__in=user_ids)
    found = list(watches.values_list("connection__channel_name", "connection__user_id"))
    watches.delete()
    events.unsubscribe([name for name, _ in found], [channel.cid], revoke=True)
    if user_ids is not None:
        for user in ChatUser.objects.filter(id__in={user_id for _, user_id in found}):
            _watching_event("user.watching.stop", channel, user)


def watches_recheck(watches: QuerySet[Watch]) -> None:
    """End those of ``watches`` whose user may no longer read the channel, as
    ``watches_end`` does: its role, teams or channel role changed, or the
    channel's team, its type's grants or the app's multi-tenancy did.

    Precondition: called inside the transaction of that change, after it was
    written, so access is decided on the new state. A socket is subscribed to
    a channel only by a watch, and the watch registry and the channel layer are
    shared by every server process, so this reaches sockets on any of them.
    Nobody is told (Stream simply stops delivering); the remaining watchers
    hear ``user.watching.stop``."""
    found = list(watches.select_related("connection__user", "channel").order_by("pk"))
    if not found:
        return
    app, types = app_get(), ChannelTypes()
    pairs = {(watch.channel_id, watch.connection.user_id): watch for watch in found}
    members = {
        (member.channel_id, member.user_id): member
        for member in Member.objects.filter(
            channel_id__in={cid for cid, _ in pairs}, user_id__in={user_id for _, user_id in pairs}
        )
    }
    lost: dict[str, tuple[Channel, list[str]]] = {}
    for key, watch in pairs.items():
        caller = Caller(app=app, server=False, user=watch.connection.user)
        if not may_read(caller, watch.channel, members.get(key), types):
            lost.setdefault(watch.channel_id, (watch.channel, []))[1].append(watch.connection.user_id)
    for channel, user_ids in lost.values():
        watches_end(channel, user_ids)


def live_watches() -> QuerySet[Watch]:
    return Watch.objects.filter(connection__in=Connection.objects.live())


def watcher_count(channel: Channel) -> int:
    return sendpath.watcher_count(channel.cid)


def users_updated(users: Iterable[ChatUser]) -> None:
    """``user.updated`` for each of ``users``: to the user's own sockets and to
    the users watching a channel it belongs to, so names and avatars change
    in place (one query for the whole batch)."""
    users = list(users)
    if not users:
        return
    ids = [user.id for user in users]
    audience: dict[str, set[str]] = defaultdict(set)
    watching = (
        live_watches()
        .filter(channel__members__user_id__in=ids)
        .values_list("channel__members__user_id", "connection__user_id")
        .distinct()
    )
    for member_id, watcher_id in watching:
        audience[member_id].add(watcher_id)
    online = set(Connection.objects.live().filter(user_id__in=ids).values_list("user_id", flat=True))
    for user in users:
        event = events.envelope("user.updated", user=user_payload(user, online=user.id in online))
        events.to_users(sorted(audience[user.id] | {user.id}), event)


def _presence_changed(user: ChatUser, *, online: bool) -> None:
    """``user.presence.changed`` when a user's first socket opens or its last one
    closes: once to each socket of another user that watches a channel the
    user belongs to and asked for presence there (``presence: true``), however
    many such channels they share (an invisible user's comings and goings are
    nobody's business). One query for the audience."""
    if user.invisible:
        return
    names = watchpath.presence_audience(user.id)
    if names:
        event = events.envelope("user.presence.changed", user=user_payload(user, online=online))
        events.to_sockets(names, event)


def _watching_event(event_type: str, channel: Channel, user: ChatUser, count: int | None = None) -> None:
    online = event_type == "user.watching.start" or Connection.objects.live().filter(user=user).exists()
    events.to_channel(
        channel.cid,
        events.envelope(
            event_type,
            channel,
            user=user_payload(user, online=online),
            watcher_count=watcher_count(channel) if count is None else count,
        ),
    )
