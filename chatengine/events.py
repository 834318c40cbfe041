"""Event delivery: build Stream event envelopes and hand them to the hubs of
the server processes (``chatengine.hub``) once the transaction that caused
them has committed.

An event goes to a channel's watchers (every socket subscribed to its cid) or
to users (every socket of each, for ``notification.*`` events). It is
serialized once; fields that differ per recipient (unread counts) travel next
to it as ``per_user`` and each recipient gets its own entry merged in.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatengine import hub, metrics
from chatengine.errors import StreamError
from chatengine.models import Channel
from chatengine.serializers import iso

logger = logging.getLogger(__name__)


def envelope(event_type: str, source: Channel | None = None, /, **fields: Any) -> dict[str, Any]:
    """A Stream event: ``type``, ``created_at``, the channel it happened in
    (``source``: cid, id, type, team ...) and the event's own ``fields``."""
    event: dict[str, Any] = {"type": event_type, "created_at": iso(timezone.now())}
    if source is not None:
        event.update(
            cid=source.cid,
            channel_id=source.channel_id,
            channel_type=source.type,
            channel_member_count=source.member_count,
            channel_custom=dict(source.custom or {}),
        )
        if source.team:
            event["team"] = source.team
    event.update(fields)
    return event


# How long a request waits for unsubscriptions that take a channel away from
# someone before it answers (in one process: until its hub applied them).
UNSUBSCRIBE_WAIT_SECONDS = 5.0


def _publish(header: hub.Header, event: Any, *, wait: float | None = None) -> None:
    try:
        hub.publish(header, event, wait=wait)
    except Exception:
        # A lost event is recoverable (clients re-query on reconnect); a failed
        # request after a committed write is not.
        logger.exception("chat engine could not publish a %s message", header["k"])


def _event_header(
    header: hub.Header, event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None
) -> hub.Header:
    if per_user:
        header["per_user"] = per_user
        if any(key in event for own in per_user.values() for key in own):
            header["merge"] = True
    return header


def _publish_event(header: hub.Header, event: dict[str, Any]) -> None:
    """Publish one event (to a channel's sockets or to users'), and count it."""
    metrics.EVENTS.inc()
    _publish(header, event)


def to_channel(
    cid: str,
    event: dict[str, Any],
    per_user: dict[str, dict[str, Any]] | None = None,
    *,
    exclude: list[str] | None = None,
) -> None:
    """Deliver ``event`` to every connection watching ``cid``, after commit,
    but those of the users in ``exclude`` (who block the user it comes from)."""
    header = _event_header({"k": "c", "cid": cid}, event, per_user)
    if exclude:
        header["exclude"] = sorted(set(exclude))
    transaction.on_commit(lambda: _publish_event(header, event))


def to_users(
    user_ids: list[str], event: dict[str, Any], per_user: dict[str, dict[str, Any]] | None = None
) -> None:
    """Deliver ``event`` to every connection of each user, after commit."""
    users = list(dict.fromkeys(user_ids))
    if users:
        header = _event_header({"k": "u", "users": users}, event, per_user)
        transaction.on_commit(lambda: _publish_event(header, event))


def to_sockets(channel_names: list[str], event: dict[str, Any]) -> None:
    """Deliver ``event`` once to each of these sockets (by channel name), after commit."""
    names = list(dict.fromkeys(channel_names))
    if names:
        header = _event_header({"k": "n", "names": names}, event, None)
        transaction.on_commit(lambda: _publish_event(header, event))


def disconnect_users(user_ids: list[str], error: StreamError) -> None:
    """Close every socket of these users after commit, with a ``connection.error``
    saying why: a deactivated or deleted user, or revoked tokens, must stop
    hearing events at once, not at its next reconnect."""
    users = list(dict.fromkeys(user_ids))
    if users:
        body = hub.dumps(error.body(duration=""))
        transaction.on_commit(lambda: _publish({"k": "d", "users": users}, body))


def subscribe(channel_names: list[str], cids: list[str]) -> None:
    """Subscribe connections to channels once the transaction commits. This one
    waits: events sent after the request must find the socket subscribed."""
    if channel_names and cids:
        header = {"k": "s", "names": list(channel_names), "cids": list(cids)}
        transaction.on_commit(lambda: _publish(header, "", wait=UNSUBSCRIBE_WAIT_SECONDS))


def unsubscribe(channel_names: list[str], cids: list[str], *, revoke: bool = False) -> None:
    """Unsubscribe connections from channels once the transaction commits,
    after the events already published.

    A socket that closes is not waited for. One that loses a channel it may no
    longer read (``revoke``) is: the request answers only once the
    unsubscription is ordered before anything published later (in one
    process: applied by its hub; with Redis: taken by Redis), so no event the
    caller causes next, in any process, still reaches it."""
    if channel_names and cids:
        header = {"k": "x", "names": list(channel_names), "cids": list(cids)}
        wait = UNSUBSCRIBE_WAIT_SECONDS if revoke else None
        transaction.on_commit(lambda: _publish(header, "", wait=wait))


def forget_copies(keys: list[str]) -> None:
    """Once the transaction commits, every process drops its own copies of
    these cached rows (``chatengine.copies``)."""
    transaction.on_commit(lambda: _publish({"k": "f", "keys": list(keys)}, ""))
