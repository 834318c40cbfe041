"""What the sync worker sends, decided from the entities and their sync states.

Pure functions: they read the loaded rows (users, channels, memberships) and
the ``SyncState`` of each, and answer what to upsert, reactivate, deactivate,
revoke, create, update, add, reassign or delete. They make no query and no
call; :mod:`streamsync.worker` loads what they read, sends what they decide
(in 100s, bisecting a failed chunk) and records the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from accounts.models import User
from channels_app.models import Channel, ChannelRole
from streamsync import mapping
from streamsync.models import SyncState

# -- what a batch needs -----------------------------------------------------------


@dataclass
class Needs:
    """The entities a batch sends beyond the rows it claimed: a membership
    change needs its channel and its users to exist in the chat service."""

    desired_members: dict[str, dict[str, str]]  # channel pk -> {user pk: chat channel role}
    channel_ids: set[str]
    user_ids: set[str]


def desired_members(
    member_channel_ids: Iterable[str], memberships: Iterable[tuple[Any, Any, str]]
) -> dict[str, dict[str, str]]:
    """Each channel's members as the chat service should have them, from
    ``(channel_id, user_id, role)`` rows; a channel without rows has none."""
    desired: dict[str, dict[str, str]] = {cid: {} for cid in member_channel_ids}
    for channel_id, user_id, role in memberships:
        desired[str(channel_id)][str(user_id)] = mapping.CHANNEL_ROLES[ChannelRole(role)]
    return desired


def channels_needed(
    channel_ids: set[str], member_channels: Iterable[str], channel_states: dict[str, SyncState]
) -> set[str]:
    """The channels to send: those claimed, and those whose members change but
    that were never sent (no sync state)."""
    return channel_ids | {cid for cid in member_channels if cid not in channel_states}


def users_needed(
    channels: dict[str, Channel],
    channel_states: dict[str, SyncState],
    desired: dict[str, dict[str, str]],
) -> set[str]:
    """The users the channels and members of a batch refer to: the creator of a
    channel about to be created (of the channel's tenant), and every member."""
    creators = {
        str(channel.created_by_id)
        for cid, channel in channels.items()
        if cid not in channel_states
        and channel.created_by_id
        and channel.created_by is not None
        and channel.created_by.tenant_id == channel.tenant_id
    }
    return creators | {uid for members in desired.values() for uid in members}


# -- users ------------------------------------------------------------------------


@dataclass
class UserPlan:
    reactivate: list[str] = field(default_factory=list)
    upsert: list[dict[str, Any]] = field(default_factory=list)
    revoke: list[dict[str, Any]] = field(default_factory=list)  # partial updates
    deactivate: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)  # ids that are no user of ours
    states: dict[str, SyncState] = field(default_factory=dict)  # to save for those that succeed


def plan_users(user_ids: Iterable[str], users: dict[str, User], states: dict[str, SyncState]) -> UserPlan:
    """What to send for ``user_ids``: ``users`` are the ones that exist (by
    pk, with their tenant), ``states`` what the last sync sent of each.

    A deactivated user is reactivated before its upsert; an unchanged one is
    not sent again; a changed revocation time is a partial update (not for a
    user being deactivated, whose tokens all go). An id that is no user of
    ours (gone, or a stranger) is deleted; platform staff are not chat users.
    """
    plan = UserPlan()
    for uid, user in users.items():
        if user.tenant is None:
            continue  # not a chat user
        want_active = user.is_active and user.tenant.is_active
        state = states.get(uid)
        was_deactivated = bool(state and state.data.get("deactivated"))
        payload = mapping.user_payload(user)
        revoked_before = mapping.tokens_revoked_before(user)
        new_state = SyncState(
            entity_id=uid,
            tenant_id=user.tenant_id,
            digest=mapping.digest(payload),
            data={"deactivated": not want_active, "tokens_revoked_before": revoked_before},
        )
        plan.states[uid] = new_state
        if want_active and was_deactivated:
            plan.reactivate.append(uid)
        if (want_active or not was_deactivated) and (state is None or state.digest != new_state.digest):
            plan.upsert.append(payload)
        # A deactivation revokes every token anyway; a deactivated user has none to revoke.
        if (
            want_active
            and revoked_before
            and revoked_before != (state.data.get("tokens_revoked_before") if state else None)
        ):
            plan.revoke.append({"id": uid, "set": {"revoke_tokens_issued_before": revoked_before}})
        if not want_active and not was_deactivated:
            plan.deactivate.append(uid)
    plan.delete = sorted(uid for uid in user_ids if uid not in users)
    return plan


# -- channels ---------------------------------------------------------------------


class ChannelAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass
class ChannelStep:
    channel: Channel
    action: ChannelAction
    data: dict[str, Any]
    state: SyncState  # to save once the step succeeded


@dataclass
class ChannelPlan:
    steps: dict[str, ChannelStep] = field(default_factory=dict)  # by channel pk
    delete: list[str] = field(default_factory=list)  # pks of channels that no longer exist


def plan_channels(
    channel_ids: Iterable[str], channels: dict[str, Channel], states: dict[str, SyncState]
) -> ChannelPlan:
    """Create a channel never sent, update one whose data changed, leave the
    rest; delete the ids whose channel is gone. A step's state keeps what the
    last sync recorded beside the digest."""
    plan = ChannelPlan()
    for cid, channel in channels.items():
        data = mapping.channel_data(channel)
        digest = mapping.digest(data)
        state = states.get(cid)
        if state is None:
            action = ChannelAction.CREATE
        elif state.digest != digest:
            action = ChannelAction.UPDATE
        else:
            action = ChannelAction.UNCHANGED
        kept = dict(state.data) if state else {}
        plan.steps[cid] = ChannelStep(
            channel=channel,
            action=action,
            data=data,
            state=SyncState(entity_id=cid, tenant_id=channel.tenant_id, digest=digest, data=kept),
        )
    plan.delete = sorted(cid for cid in channel_ids if cid not in channels)
    return plan


def channel_creator_id(channel: Channel, failed_users: set[str]) -> str:
    """Who creates the channel in the chat service: its creator when that user
    is of the channel's tenant and was sent, else the team's system user.
    Nobody owns a direct conversation: its starter is a member like the others."""
    creator = channel.created_by
    if (
        creator is not None
        and creator.tenant_id == channel.tenant_id
        and str(creator.pk) not in failed_users
        and not channel.is_direct
    ):
        return creator.chat_user_id
    return mapping.system_user_id(channel.tenant)


def channel_differs(channel: Channel, data: dict[str, Any], existing: dict[str, Any]) -> bool:
    """Whether a channel the service already had (an earlier attempt, or drift)
    needs its data brought up to date: a value differs, or one it must not have is set."""
    return any(existing.get(k) != v for k, v in data.items() if k != "team") or any(
        existing.get(k) for k in mapping.channel_data_absent(channel)
    )


# -- members ----------------------------------------------------------------------


@dataclass
class MemberPlan:
    add: list[dict[str, str]]
    assign: list[dict[str, str]]  # members whose channel role changes
    remove: list[str]
    failed: dict[str, str]  # members not sent: their user could not be synced


def plan_members(desired: dict[str, str], current: dict[str, str], failed_users: set[str]) -> MemberPlan:
    """From the members the service was last told (``current``) to ``desired``:
    add the new ones (unless their user failed to sync), reassign changed roles,
    remove the ones that left."""
    failed = {uid: "the user could not be synced" for uid in desired if uid in failed_users}
    return MemberPlan(
        add=[
            {"user_id": uid, "channel_role": role}
            for uid, role in desired.items()
            if uid not in current and uid not in failed
        ],
        assign=[
            {"user_id": uid, "channel_role": role}
            for uid, role in desired.items()
            if uid in current and current[uid] != role
        ],
        remove=[uid for uid in current if uid not in desired],
        failed=failed,
    )
