"""The statements of a message send that the ORM made expensive, written as SQL.

Every call reads its channel (with its creator) and its user by id. A client's
send first reads its membership with the channel, a ban in force and, in a
conversation, a block by the other member (one statement). The send then
reads who hears of it, and writes the message, the channel's counters and
every member's read state: each one statement whatever the channel's size,
and the writes one statement together on PostgreSQL. As ORM expressions
(``Case`` and ``When`` per column, correlated ``Subquery`` and ``Exists``
annotations) they cost more to build and compile than to run: a profile of
the engine under load put two thirds of a send's Python time in Django's
query compiler. The SQL is the same on PostgreSQL and SQLite but where
noted; values travel as parameters (bound on the server and prepared on
PostgreSQL, ``chatplatform.db.sql_cursor``), adapted as the ORM adapts them, rows come
back through the fields' own converters, and table and column names come
from the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from chatengine.models import (
    CONNECTION_STALE_AFTER,
    CONVERSATION_MEMBERS,
    Channel,
    ChatUser,
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


@cache
def _membership_rows() -> tuple[Rows, Rows, Rows]:
    return Rows(Member, "m"), Rows(Channel, "ch"), Rows(ChatUser, "cu")


def membership_with_channel(user: ChatUser, cid: str) -> Member | None:
    """``user``'s membership of ``cid`` with its channel (and the channel's
    creator), annotated with ``ban_in_force`` (a ban, global or in this
    channel, keeps it from writing) and ``blocked_by`` (in a conversation of
    two, the other member's id if it blocks ``user``; else None)."""
    t = tables()
    member, channel, creator = _membership_rows()
    sql = (  # (names from the models; every value a parameter)
        f"SELECT {member.sql}, {channel.sql}, {creator.sql},"  # noqa: S608
        f" EXISTS (SELECT 1 FROM {t['ban']} b WHERE b.user_id = m.user_id"
        " AND (b.channel_id IS NULL OR b.channel_id = m.channel_id)"
        " AND (b.expires IS NULL OR b.expires > %s)),"
        " CASE WHEN ch.member_count = %s THEN"
        f" (SELECT k.user_id FROM {t['block']} k JOIN {t['member']} o ON o.user_id = k.user_id"
        " WHERE k.target_id = m.user_id AND o.channel_id = m.channel_id"
        f" {connection.ops.limit_offset_sql(0, 1)}) END"
        f" FROM {t['member']} m JOIN {t['channel']} ch ON ch.cid = m.channel_id"
        f" LEFT JOIN {t['user']} cu ON cu.id = ch.created_by_id"
        " WHERE m.channel_id = %s AND m.user_id = %s"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [db_time(timezone.now()), CONVERSATION_MEMBERS, cid, user.id])
        row = cursor.fetchone()
    if row is None:
        return None
    found = member.load(row[: member.width])
    found.channel = _channel_with_creator(row[member.width :])
    found.user = user
    # The query's annotations, as the ORM would set them.
    found.ban_in_force = bool(row[-2])
    found.blocked_by = row[-1]
    return found


def _channel_with_creator(values: tuple[Any, ...]) -> Channel:
    """A channel and its creator (``created_by``) from a row's columns, the
    channel's first; what follows the creator's columns is ignored."""
    _, channel, creator = _membership_rows()
    found = channel.load(values[: channel.width])
    creator_values = values[channel.width : channel.width + creator.width]
    found.created_by = None if creator_values[0] is None else creator.load(creator_values)
    return found


def channel_get(cid: str) -> Channel | None:
    """The channel ``cid`` with its creator, as
    ``Channel.objects.select_related("created_by")`` reads it."""
    t = tables()
    _, channel, creator = _membership_rows()
    sql = (  # (names from the models; every value a parameter)
        f"SELECT {channel.sql}, {creator.sql} FROM {t['channel']} ch"  # noqa: S608
        f" LEFT JOIN {t['user']} cu ON cu.id = ch.created_by_id WHERE ch.cid = %s"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [cid])
        row = cursor.fetchone()
    return None if row is None else _channel_with_creator(row)


def user_get(user_id: str) -> ChatUser | None:
    """The user ``user_id``."""
    t = tables()
    _, _, user = _membership_rows()
    with sql_cursor() as cursor:
        cursor.execute(f"SELECT {user.sql} FROM {t['user']} cu WHERE cu.id = %s", [user_id])  # noqa: S608
        row = cursor.fetchone()
    return None if row is None else user.load(row)


# PostgreSQL writes a send in one statement (data-modifying WITH); SQLite,
# which has no such thing, in a few, inside the caller's transaction.
def writes_in_one_statement() -> bool:
    return connection.vendor == "postgresql"


def new_message_writes(message: Message, *, blockers: list[str], shown: bool, counts: bool) -> dict[str, int]:
    """The writes of a new message: its row (as ``save(force_insert=True)``
    would, without signals: the engine's models have no receivers on save),
    the channel's last message time and count when ``shown`` (it is in the
    channel list), and every member's read state (``members_after_new``).
    Returns the unread count in the channel of each member whose read state
    changed. A duplicate message id raises ``IntegrityError`` and writes nothing.

    On PostgreSQL this is one statement: atomic without a transaction, and
    the rows it locks (the members', then the channel's: the WITH statements
    nobody reads run after the main query) are held for one round trip, not
    from the first write to the commit."""
    statements = [insert_statement(message)]
    if shown:
        statements.append(_channel_after_new(message.channel_id, message.created_at))
    members_sql, members_params = members_after_new(
        channel_id=message.channel_id,
        author_id=message.user_id,
        message_id=message.id,
        created_at=message.created_at,
        blockers=blockers,
        shown=shown,
        counts=counts,
    )
    members_sql += " RETURNING user_id, unread_messages"
    with sql_cursor() as cursor:
        if writes_in_one_statement():
            ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(statements))
            params = [value for _, values in statements for value in values]
            sql = f"WITH {ctes}, m AS ({members_sql}) SELECT * FROM m"  # noqa: S608 (statements above)
            cursor.execute(sql, [*params, *members_params])
        else:
            for sql, values in statements:
                cursor.execute(sql, values)
            cursor.execute(members_sql, members_params)
        unread = {user_id: int(count) for user_id, count in cursor.fetchall()}
    inserted(message)
    return unread


def _channel_after_new(channel_id: str, at: datetime) -> tuple[str, list[Any]]:
    """A new message in the channel list: the channel's last message time and
    count move on."""
    when = db_time(at)
    sql = (
        f"UPDATE {tables()['channel']} SET last_message_at = %s, updated_at = %s,"  # noqa: S608
        " message_count = message_count + 1 WHERE cid = %s"
    )
    return sql, [when, when, channel_id]


@dataclass(frozen=True)
class AudienceRow:
    user_id: str
    unread: int  # in this channel
    other_unread: int  # in its other channels
    other_unread_channels: int
    watching: bool
    watcher_count: int


def audience(channel_id: str) -> list[AudienceRow]:
    """One row per member of the channel: its unread messages here and over
    its other memberships (and in how many of them), whether one of its live
    sockets watches the channel, and how many users watch it (members or not,
    the same on every row). A send reads it before its writes, which lock the
    channel's members: their totals after it are the other channels' plus
    what the writes return for this one."""
    t = tables()
    live_since = db_time(timezone.now() - CONNECTION_STALE_AFTER)
    # The channel's watchers are read once (a WITH that both uses read): an
    # EXISTS per member read all of them for each member.
    sql = (  # (names from the models; every value a parameter)
        f"WITH lw AS (SELECT DISTINCT c.user_id {_live_watches_of_channel()})"  # noqa: S608
        " SELECT m.user_id, m.unread_messages,"
        f" {unread_totals('m.user_id', except_channel='m.channel_id')},"
        " lw.user_id IS NOT NULL, (SELECT COUNT(*) FROM lw)"
        f" FROM {t['member']} m LEFT JOIN lw ON lw.user_id = m.user_id WHERE m.channel_id = %s"
    )
    with sql_cursor() as cursor:
        cursor.execute(sql, [channel_id, live_since, channel_id])
        return [
            AudienceRow(user_id, int(unread), int(total), int(channels), bool(watching), int(watchers))
            for user_id, unread, total, channels, watching, watchers in cursor.fetchall()
        ]


def watcher_count(channel_id: str) -> int:
    """How many users watch the channel from a live socket."""
    sql = f"SELECT COUNT(DISTINCT c.user_id) {_live_watches_of_channel()}"
    with sql_cursor() as cursor:
        cursor.execute(sql, [channel_id, db_time(timezone.now() - CONNECTION_STALE_AFTER)])
        return int(cursor.fetchone()[0])


def _live_watches_of_channel() -> str:
    """FROM and WHERE of a channel's watches from live sockets (``w``, ``c``;
    parameters: the channel id, the oldest live ``last_seen``)."""
    t = tables()
    return (
        f"FROM {t['watch']} w JOIN {t['conn']} c ON c.id = w.connection_id"
        " WHERE w.channel_id = %s AND c.last_seen >= %s"
    )


def members_after_new(
    *,
    channel_id: str,
    author_id: str,
    message_id: str,
    created_at: datetime,
    blockers: list[str],
    shown: bool,
    counts: bool,
) -> tuple[str, list[Any]]:
    """The UPDATE of every member's read state after a new message, and its parameters.

    The author has read up to its message. With ``shown`` (the message is in
    the channel list), the channel comes back into the lists of members who
    hid it, but not of ``blockers``; with ``counts`` as well (not silent), it
    is unread for the others, but not for ``blockers`` nor for members who
    muted the channel or the author."""
    t = tables()
    now = db_time(timezone.now())
    created = db_time(created_at)
    blocked = f"user_id IN ({placeholders(blockers)})" if blockers else "1 = 0"
    sets = [
        "last_read = CASE WHEN user_id = %s THEN %s ELSE last_read END",
        "last_read_message_id = CASE WHEN user_id = %s THEN %s ELSE last_read_message_id END",
    ]
    params: list[Any] = [author_id, created, author_id, message_id]
    if shown:
        sets.append(f"hidden = CASE WHEN {blocked} THEN hidden ELSE %s END")
        params += [*blockers, False]
    if shown and counts:
        in_force = "(x.expires IS NULL OR x.expires > %s)"
        sets.append(
            "unread_messages = CASE WHEN user_id = %s THEN 0"  # noqa: S608
            f" WHEN {blocked} THEN unread_messages"
            f" WHEN EXISTS (SELECT 1 FROM {t['cmute']} x WHERE x.channel_id = %s"
            f" AND x.user_id = {t['member']}.user_id AND {in_force}) THEN unread_messages"
            f" WHEN EXISTS (SELECT 1 FROM {t['umute']} x WHERE x.target_id = %s"
            f" AND x.user_id = {t['member']}.user_id AND {in_force}) THEN unread_messages"
            " ELSE unread_messages + 1 END"
        )
        params += [author_id, *blockers, channel_id, now, author_id, now]
    else:
        sets.append("unread_messages = CASE WHEN user_id = %s THEN 0 ELSE unread_messages END")
        params.append(author_id)
    if not shown:
        where = "channel_id = %s AND user_id = %s"
        params += [channel_id, author_id]
    elif connection.vendor == "postgresql":
        # Row locks in one order (by id) whoever sends: two sends to a channel
        # that locked its members in their plans' orders deadlocked (and the
        # members before the channel's row, as every other writer of both).
        where = f"id IN (SELECT id FROM {t['member']} WHERE channel_id = %s ORDER BY id FOR UPDATE)"  # noqa: S608
        params.append(channel_id)
    else:  # (SQLite runs one writer at a time)
        where = "channel_id = %s"
        params.append(channel_id)
    return f"UPDATE {t['member']} SET {', '.join(sets)} WHERE {where}", params  # noqa: S608
