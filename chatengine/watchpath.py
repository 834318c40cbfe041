"""The reads of a channel's state that the ORM made expensive, written as SQL.

Every client of a reconnect storm watches its channels right after its
handshake, and each watch reads the channel, the viewer's membership, the
channel's watchers, its newest messages and pins and a page of its members.
As ORM querysets (window functions, ``Exists`` annotations, two-level
``select_related``) those reads cost several times more to build and compile
than to run. So do the handshake's user with its summary, its two writes and
who hears that it came online. As in ``chatengine.sendpath``: the SQL is the same on PostgreSQL
and SQLite, values travel as parameters, rows come back through the fields'
own converters (``Rows``), and table and column names come from the models.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from chatengine.models import (
    CONNECTION_STALE_AFTER,
    CONVERSATION_MEMBERS,
    ChatUser,
    Connection,
    Member,
    Message,
)
from chatengine.rawsql import (
    Rows,
    db_time,
    insert_statement,
    inserted,
    placeholders,
    tables,
    unread_totals,
)
from chatplatform.db import sql_cursor


class _Named(Rows):
    """``Rows`` whose columns are also named ``<alias>_<column>``, so a
    subquery can select them (two aliases of one table share column names)."""

    def __init__(self, model: type[Model], alias: str) -> None:
        super().__init__(model, alias)
        quote = connection.ops.quote_name
        self.named_sql = ", ".join(
            f"{alias}.{quote(field.column)} AS {quote(f'{alias}_{field.column}')}"
            for field in model._meta.concrete_fields
        )


@cache
def _rows() -> dict[str, _Named]:
    return {
        "message": _Named(Message, "m"),
        "author": _Named(ChatUser, "u"),
        "pinner": _Named(ChatUser, "p"),
        "member": _Named(Member, "mb"),
        "user": _Named(ChatUser, "u"),
        "conn": _Named(Connection, "c"),
    }


def _live_since() -> Any:
    return db_time(timezone.now() - CONNECTION_STALE_AFTER)


def _online(user_column: str) -> str:
    """Whether the user of ``user_column`` has a live socket (``Connection.objects.live()``;
    parameter: the oldest live ``last_seen``)."""
    return (
        f"EXISTS (SELECT 1 FROM {tables()['conn']} c"  # noqa: S608
        f" WHERE c.user_id = {user_column} AND c.last_seen >= %s)"
    )


def viewer_memberships(viewer: ChatUser, cids: list[str]) -> dict[str, Member]:
    """``viewer``'s memberships of ``cids`` by cid, annotated as
    ``selectors.viewer_memberships`` documents (``online``, ``ban_in_force``,
    ``blocks_other``); the user of each is ``viewer`` itself."""
    if not cids:
        return {}
    t = tables()
    member = _rows()["member"]
    sql = (  # (names from the models; every value a parameter)
        f"SELECT {member.sql}, {_online('mb.user_id')},"  # noqa: S608
        f" EXISTS (SELECT 1 FROM {t['ban']} b WHERE b.user_id = mb.user_id"
        " AND (b.channel_id IS NULL OR b.channel_id = mb.channel_id)"
        " AND (b.expires IS NULL OR b.expires > %s)),"
        " (ch.member_count = %s AND EXISTS (SELECT 1 FROM"
        f" {t['block']} k JOIN {t['member']} o ON o.user_id = k.target_id"
        " WHERE o.channel_id = mb.channel_id AND k.user_id = mb.user_id))"
        f" FROM {t['member']} mb JOIN {t['channel']} ch ON ch.cid = mb.channel_id"
        f" WHERE mb.channel_id IN ({placeholders(cids)}) AND mb.user_id = %s"
    )
    params = [_live_since(), db_time(timezone.now()), CONVERSATION_MEMBERS, *cids, viewer.id]
    found: dict[str, Member] = {}
    with sql_cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            membership = member.load(row[: member.width])
            membership.user = viewer
            # The query's annotations, as the ORM would set them.
            membership.online, membership.ban_in_force, membership.blocks_other = (
                bool(value) for value in row[member.width :]
            )
            found[membership.channel_id] = membership
    return found


def members_per_channel(cids: list[str], *, limit: int, offset: int = 0) -> dict[str, list[Member]]:
    """A page of each channel's members (oldest first, then by user id) with
    their users, each annotated with whether its user is online."""
    grouped: dict[str, list[Member]] = defaultdict(list)
    if limit <= 0 or not cids:
        return grouped
    t, rows = tables(), _rows()
    member, user = rows["member"], rows["user"]
    sql = (  # (names from the models; every value a parameter)
        f"SELECT * FROM (SELECT {member.named_sql}, {user.named_sql},"  # noqa: S608
        f" {_online('mb.user_id')} AS online,"
        " ROW_NUMBER() OVER (PARTITION BY mb.channel_id"
        " ORDER BY mb.created_at, mb.user_id) AS rank_in_channel"
        f" FROM {t['member']} mb JOIN {t['user']} u ON u.id = mb.user_id"
        f" WHERE mb.channel_id IN ({placeholders(cids)})) ranked"
        " WHERE rank_in_channel > %s AND rank_in_channel <= %s ORDER BY rank_in_channel"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [_live_since(), *cids, offset, offset + limit])
        for row in cursor.fetchall():
            found = member.load(row[: member.width])
            found.user = user.load(row[member.width : member.width + user.width])
            found.online = bool(row[-2])
            grouped[found.channel_id].append(found)
    return grouped


# A message of the channel's history (not a thread-only reply) and a pin in force.
_IN_HISTORY = "(m.parent_id IS NULL OR m.show_in_channel)"
_PINNED = "(m.deleted_at IS NULL AND m.pinned)"


def latest_and_pinned_per_channel(
    cids: list[str], limit: int, pinned_limit: int
) -> tuple[dict[str, list[Message]], dict[str, list[Message]]]:
    """Each channel's newest ``limit`` history messages (ascending) and its
    newest ``pinned_limit`` pins, with their authors and pinners, in one
    statement: two ranks per channel over the rows of either list, each
    ordering the rows of its own list first (so a rank within the limit is one
    of its rows whenever the list is that long); the few rows that rank in by
    making up a short list are dropped here."""
    history: dict[str, list[Message]] = defaultdict(list)
    pins: dict[str, list[tuple[int, Message]]] = defaultdict(list)
    if not cids:
        return history, {}
    rows = _rows()
    message, author, pinner = rows["message"], rows["author"], rows["pinner"]
    t = tables()
    newest = "m.created_at DESC, m.id DESC"
    sql = (  # (names from the models; every value a parameter)
        f"SELECT * FROM (SELECT {message.named_sql}, {author.named_sql}, {pinner.named_sql},"  # noqa: S608
        f" {_IN_HISTORY} AS in_history, {_PINNED} AS in_pins,"
        f" ROW_NUMBER() OVER (PARTITION BY m.channel_id"
        f" ORDER BY {_IN_HISTORY} DESC, {newest}) AS history_rank,"
        f" ROW_NUMBER() OVER (PARTITION BY m.channel_id ORDER BY {_PINNED} DESC,"
        f" m.pinned_at DESC NULLS LAST, {newest}) AS pin_rank"
        f" FROM {t['message']} m JOIN {t['user']} u ON u.id = m.user_id"
        f" LEFT JOIN {t['user']} p ON p.id = m.pinned_by_id"
        f" WHERE ({_IN_HISTORY} OR {_PINNED}) AND m.channel_id IN ({placeholders(cids)})) ranked"
        " WHERE history_rank <= %s OR pin_rank <= %s"
    )
    author_at = message.width
    pinner_at = author_at + author.width
    flags_at = pinner_at + pinner.width
    with sql_cursor() as cursor:
        cursor.execute(sql, [*cids, limit, pinned_limit])
        for row in cursor.fetchall():
            found = message.load(row[:author_at])
            found.user = author.load(row[author_at:pinner_at])
            pinned_by = row[pinner_at:flags_at]
            found.pinned_by = None if pinned_by[0] is None else pinner.load(pinned_by)
            in_history, in_pins, history_rank, pin_rank = row[flags_at:]
            if in_history and history_rank <= limit:
                history[found.channel_id].append(found)
            if in_pins and pin_rank <= pinned_limit:
                pins[found.channel_id].append((pin_rank, found))
    for page in history.values():
        page.sort(key=lambda m: (m.created_at, m.id))
    return history, {
        cid: [m for _, m in sorted(ranked, key=lambda pair: pair[0])] for cid, ranked in pins.items()
    }


@dataclass
class Watchers:
    """Who watches a channel from a live socket: how many users (a user with
    two tabs watches once), the first ``limit`` of them in the order they
    started, and whether the user of the socket asked about watches it from
    another socket too (``elsewhere``)."""

    count: int = 0
    users: list[ChatUser] = field(default_factory=list)
    elsewhere: bool = False


def channel_watchers(
    cids: list[str], *, limit: int, connection_id: str = "", user_id: str = ""
) -> dict[str, Watchers]:
    """The :class:`Watchers` of each of ``cids``; ``elsewhere`` for the socket
    ``connection_id`` of ``user_id``. One statement whose rows are one per
    listed user, not one per socket: a channel thousands watch costs what a
    small one does."""
    found: dict[str, Watchers] = defaultdict(Watchers)
    if not cids:
        return found
    t = tables()
    user = _rows()["user"]
    sql = (  # (names from the models; every value a parameter)
        f"SELECT ranked.channel_id, ranked.user_rank, ranked.users_in_channel, ranked.elsewhere, {user.sql}"  # noqa: S608
        " FROM (SELECT g.channel_id, g.user_id, g.elsewhere,"
        " ROW_NUMBER() OVER (PARTITION BY g.channel_id ORDER BY g.first_watch) AS user_rank,"
        " COUNT(*) OVER (PARTITION BY g.channel_id) AS users_in_channel"
        " FROM (SELECT w.channel_id, c.user_id, MIN(w.id) AS first_watch,"
        " MAX(CASE WHEN c.id <> %s THEN 1 ELSE 0 END) AS elsewhere"
        f" FROM {t['watch']} w JOIN {t['conn']} c ON c.id = w.connection_id"
        f" WHERE w.channel_id IN ({placeholders(cids)}) AND c.last_seen >= %s"
        " GROUP BY w.channel_id, c.user_id) g) ranked"
        f" JOIN {t['user']} u ON u.id = ranked.user_id"
        " WHERE ranked.user_rank <= %s OR ranked.user_id = %s"
        " ORDER BY ranked.user_rank"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [connection_id, *cids, _live_since(), limit, user_id])
        for channel_id, rank, count, elsewhere, *values in cursor.fetchall():
            watchers = found[channel_id]
            watchers.count = int(count)
            watcher = user.load(values)
            if watcher.id == user_id:
                watchers.elsewhere = bool(elsewhere)
            if rank <= limit:
                watchers.users.append(watcher)
    return found


def live_connection(connection_id: str, user: ChatUser) -> Connection | None:
    """``user``'s live connection ``connection_id`` (its user set to ``user``)."""
    conn = _rows()["conn"]
    sql = (  # (names from the models; every value a parameter)
        f"SELECT {conn.sql} FROM {tables()['conn']} c"  # noqa: S608
        " WHERE c.id = %s AND c.user_id = %s AND c.last_seen >= %s"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [connection_id, user.id, _live_since()])
        row = cursor.fetchone()
    if row is None:
        return None
    found = conn.load(row)
    found.user = user
    return found


def presence_audience(user_id: str) -> list[str]:
    """The sockets of other users that watch, with ``presence``, a channel
    ``user_id`` is a member of (each once, sorted): who hears that it came
    online or went offline."""
    t = tables()
    sql = (  # (names from the models; every value a parameter)
        f"SELECT DISTINCT c.channel_name FROM {t['watch']} w"  # noqa: S608
        f" JOIN {t['conn']} c ON c.id = w.connection_id"
        f" JOIN {t['member']} mb ON mb.channel_id = w.channel_id"
        " WHERE w.presence = %s AND mb.user_id = %s AND c.user_id <> %s AND c.last_seen >= %s"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [True, user_id, user_id, _live_since()])
        return sorted(row[0] for row in cursor.fetchall())


def connection_insert(found: Connection, *, last_active: datetime) -> None:
    """Register the socket ``found`` (its values checked as a save checks
    them) and set its user's ``last_active``: the two writes of a handshake,
    in one round trip on PostgreSQL (a statement that writes through a CTE)
    and two on SQLite."""
    t = tables()
    found.created_at = found.created_at or timezone.now()
    insert, values = insert_statement(found)
    touch = f"UPDATE {t['user']} SET last_active = %s WHERE id = %s"  # noqa: S608
    touch_params = [db_time(last_active), found.user_id]
    with sql_cursor() as cursor:
        if connection.vendor == "postgresql":
            # (one statement: the update runs whether or not anything reads its CTE)
            cursor.execute(f"WITH touched AS ({touch}) {insert}", [*touch_params, *values])
        else:
            cursor.execute(touch, touch_params)
            cursor.execute(insert, values)
    inserted(found)


@dataclass(frozen=True)
class Summary:
    """What a handshake's ``me`` and presence need beyond the user's row."""

    online: bool
    total_unread: int
    unread_channels: int
    has_user_mutes: bool
    has_channel_mutes: bool
    has_blocks: bool


def user_with_summary(user_id: str) -> tuple[ChatUser, Summary] | None:
    """The user ``user_id`` with its :class:`Summary`, in one statement: whether
    it has a live socket, its unread totals over its memberships, and whether
    it has mutes in force and blocks of users not deleted."""
    t, user = tables(), _rows()["user"]
    now = db_time(timezone.now())
    in_force = "(x.expires IS NULL OR x.expires > %s)"
    sql = (  # (names from the models; every value a parameter)
        f"SELECT {user.sql}, {_online('u.id')},"  # noqa: S608
        f" {unread_totals('u.id')},"
        f" EXISTS (SELECT 1 FROM {t['umute']} x WHERE x.user_id = u.id AND {in_force}),"
        f" EXISTS (SELECT 1 FROM {t['cmute']} x WHERE x.user_id = u.id AND {in_force}),"
        f" EXISTS (SELECT 1 FROM {t['block']} k JOIN {t['user']} b ON b.id = k.target_id"
        " WHERE k.user_id = u.id AND b.deleted_at IS NULL)"
        f" FROM {t['user']} u WHERE u.id = %s"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [_live_since(), now, now, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    online, total, channels, user_mutes, channel_mutes, blocks = row[user.width :]
    return user.load(row[: user.width]), Summary(
        online=bool(online),
        total_unread=int(total),
        unread_channels=int(channels),
        has_user_mutes=bool(user_mutes),
        has_channel_mutes=bool(channel_mutes),
        has_blocks=bool(blocks),
    )
