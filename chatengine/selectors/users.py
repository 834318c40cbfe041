"""Users, their blocks and the summary a handshake reads: lookups of users
as a caller may see them, user lists, and who blocks whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from chatengine import permissions, sendpath, watchpath
from chatengine.auth import Caller
from chatengine.errors import input_error, not_found
from chatengine.filters import SORTABLE_USER_FIELDS, USER_SCHEMA, Context, compile_filter, parse_sort
from chatengine.models import (
    CONVERSATION_MEMBERS,
    Channel,
    ChatUser,
    Member,
    UserBlock,
)
from chatengine.selectors.access import Access
from chatengine.selectors.paging import MAX_OFFSET, bounded_int


@dataclass(frozen=True)
class UserSummary:
    """What a handshake needs to know of its user besides its row: whether it
    was online already, its unread totals, and whether it has any mutes or
    blocks at all (most users have none: then they cost no query)."""

    online: bool
    unread: dict[str, int]
    has_user_mutes: bool
    has_channel_mutes: bool
    has_blocks: bool


def user_with_summary(user_id: str) -> tuple[ChatUser, UserSummary] | None:
    """The user ``user_id`` (already validated) and its :class:`UserSummary`,
    in one query; ``None`` if there is no such user."""
    found = watchpath.user_with_summary(user_id)
    if found is None:
        return None
    user, summary = found
    total, channels = summary.total_unread, summary.unread_channels
    return user, UserSummary(
        online=summary.online,
        unread={"total_unread_count": total, "unread_count": total, "unread_channels": channels},
        has_user_mutes=summary.has_user_mutes,
        has_channel_mutes=summary.has_channel_mutes,
        has_blocks=summary.has_blocks,
    )


def user_get(user_id: Any) -> ChatUser:
    if not isinstance(user_id, str) or not user_id:
        raise input_error("a user id is required")
    user = sendpath.user_get(user_id)
    if user is None:
        raise not_found(f"user {user_id}")
    return user


def _in_callers_teams(queryset: QuerySet[ChatUser], caller: Caller) -> QuerySet[ChatUser]:
    """Stream injects the caller's teams into client-side user lookups."""
    user = caller.user
    if caller.server or user is None or not caller.multi_tenant or user.role in permissions.CROSS_TEAM_ROLES:
        return queryset
    if user.teams:
        return queryset.filter(team_links__team__in=user.teams)
    return queryset.filter(team_links__isnull=True)


def users_reachable(caller: Caller, user_ids: list[str]) -> dict[str, ChatUser]:
    """The named users the caller may see (its teams' for a client), by id."""
    queryset = ChatUser.objects.filter(id__in=user_ids, deleted_at__isnull=True)
    return {user.id: user for user in _in_callers_teams(queryset, caller).distinct()}


def users_query(
    *,
    caller: Caller,
    filter_conditions: Any,
    sort: Any,
    limit: Any,
    offset: Any,
    include_deactivated: bool,
) -> list[ChatUser]:
    q = compile_filter(filter_conditions or {}, USER_SCHEMA, Context(user=caller.user))
    queryset = ChatUser.objects.filter(q, deleted_at__isnull=True)
    if not include_deactivated:
        queryset = queryset.filter(deactivated_at__isnull=True)
    queryset = _in_callers_teams(queryset, caller)
    orderings = parse_sort(sort, SORTABLE_USER_FIELDS) or [SORTABLE_USER_FIELDS["created_at"].desc()]
    limit_n = bounded_int(limit, name="limit", default=30, maximum=100)
    offset_n = bounded_int(offset, name="offset", default=0, maximum=MAX_OFFSET)
    return list(queryset.order_by(*orderings, "id").distinct()[offset_n : offset_n + limit_n])


def blocks_of(user: ChatUser) -> list[UserBlock]:
    """``user``'s blocks of users that still exist, oldest first."""
    return list(
        UserBlock.objects.filter(user=user, target__deleted_at__isnull=True)
        .select_related("user", "target")
        .order_by("created_at", "id")
    )


def conversations_of(user: ChatUser, other_id: str) -> list[Channel]:
    """The channels whose only members are ``user`` and ``other_id``."""
    return list(
        Channel.objects.filter(member_count=CONVERSATION_MEMBERS, members__user=user)
        .filter(members__user_id=other_id)
        .select_related("created_by")
    )


def blockers_known(access: Access) -> list[str] | None:
    """``blockers_in`` of the access's channel for its member, when the lookup
    that made the access already answered it (``channel_access``), else ``None``."""
    member = access.member
    if member is None or not hasattr(member, "blocked_by"):
        return None
    if access.channel.member_count != CONVERSATION_MEMBERS:
        return []
    return [member.blocked_by] if member.blocked_by else []


def blockers_in(channel: Channel, actor_id: str) -> list[str]:
    """The members of ``channel`` who block ``actor_id`` and so must not hear
    from it there: in a conversation of the two of them only (group channels
    are not touched by a block, and cost no query)."""
    if channel.member_count != CONVERSATION_MEMBERS:
        return []
    return list(
        UserBlock.objects.filter(
            target_id=actor_id, user__memberships__channel=channel, target__memberships__channel=channel
        ).values_list("user_id", flat=True)
    )


def blocked_conversations(user: ChatUser, channels: list[Channel]) -> set[str]:
    """The cids among ``channels`` that are ``user``'s conversations with
    someone it blocks (``blocked: true`` in its channel states)."""
    pairs = [channel for channel in channels if channel.member_count == CONVERSATION_MEMBERS]
    if not pairs:
        return set()
    blocked = UserBlock.objects.filter(user=user).values("target_id")
    return set(
        Member.objects.filter(channel__in=pairs, user_id__in=blocked)
        .filter(channel__members__user=user)
        .values_list("channel_id", flat=True)
    )
