"""The registry of live WebSocket connections and the channels each one
watches."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from chatengine.models.base import StorableValues
from chatengine.models.channels import Channel
from chatengine.models.users import ChatUser

# A connection not heard from for this long is dead (the client pings every
# 25 s and gives up on a silent server after 35 s).
CONNECTION_STALE_AFTER = timedelta(seconds=90)


class ConnectionQuerySet(models.QuerySet):
    def live(self) -> ConnectionQuerySet:
        return self.filter(last_seen__gte=timezone.now() - CONNECTION_STALE_AFTER)

    def stale(self) -> ConnectionQuerySet:
        return self.filter(last_seen__lt=timezone.now() - CONNECTION_STALE_AFTER)


class Connection(StorableValues):
    """A live WebSocket connection. Kept in the database so a REST request served
    by any process can subscribe the caller's socket to a channel."""

    id = models.CharField(primary_key=True, max_length=64)
    # The consumer's channel-layer address.
    channel_name = models.CharField(max_length=255)
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="connections")
    created_at = models.DateTimeField(auto_now_add=True)
    # Refreshed by the client's pings (every 25 s). A process that dies cannot
    # clean up after its sockets; rows it leaves behind go stale and are ignored.
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ConnectionQuerySet.as_manager()

    def __str__(self) -> str:
        return self.id


class Watch(StorableValues):
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="watches")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="watches")
    # The socket asked for its members' presence (``presence: true`` on the
    # query or watch): only such sockets hear ``user.presence.changed``.
    presence = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "channel"], name="chatengine_watch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} watches {self.channel_id}"
