"""Brings one channel's members in the chat service in line with ours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channels_app.models import channel_chat_id
from streamsync import mapping, plan
from streamsync.batch import save_states
from streamsync.client import ChatClient
from streamsync.failures import batched
from streamsync.models import EntityType, SyncState


@dataclass
class ChannelMembersSync:
    """Brings one channel's members in line: add, assign roles, remove, in 100s.

    ``current`` is what the service was last told; it is saved after the run,
    even when a transient failure stops it halfway, so the retry sends only
    what is still missing.
    """

    client: ChatClient
    channel_pk: str
    tenant_id: Any
    current: dict[str, str]

    def run(self, desired: dict[str, str], failed_users: set[str]) -> dict[str, str]:
        todo = plan.plan_members(desired, self.current, failed_users)
        failed = todo.failed
        self.handle = self.client.channel(mapping.CHANNEL_TYPE, channel_chat_id(self.channel_pk))
        try:
            batched(self.client, todo.add, self._add, key=member_key, failed=failed)
            batched(self.client, todo.assign, self._assign, key=member_key, failed=failed)
            batched(self.client, todo.remove, self._remove, key=str, failed=failed)
        finally:
            save_states(
                EntityType.CHANNEL_MEMBERS,
                [
                    SyncState(
                        entity_id=self.channel_pk, tenant_id=self.tenant_id, data={"members": self.current}
                    )
                ],
            )
        return failed

    def _add(self, items: Sequence[dict[str, str]]) -> None:
        self.handle.add_members(list(items))
        self.current.update({item["user_id"]: item["channel_role"] for item in items})

    def _assign(self, items: Sequence[dict[str, str]]) -> None:
        self.handle.assign_roles(list(items))
        self.current.update({item["user_id"]: item["channel_role"] for item in items})

    def _remove(self, user_ids: Sequence[str]) -> None:
        self.handle.remove_members(list(user_ids))
        for uid in user_ids:
            self.current.pop(uid, None)


def member_key(item: dict[str, str]) -> str:
    return item["user_id"]
