"""The fields each filtered query accepts (channels, users, members of one
channel, messages in a search), their types and operators, and the
conditions that need more than a column: membership, mutes, blocks, teams,
message text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from chatengine.errors import input_error
from chatengine.filters.language import ORDERED, TEXT, Context, FieldSpec, Handler, Schema, custom_key
from chatengine.models import CONVERSATION_MEMBERS, ChannelMute, Member, UserBlock, UserTeam


def _bool_operand(name: str, op: str, operand: Any) -> bool:
    if op != "$eq" or not isinstance(operand, bool):
        raise input_error(f"field {name} supports only $eq with true or false")
    return operand


def _user_ids(name: str, operand: Any) -> list[str]:
    ids = operand if isinstance(operand, list) else [operand]
    if not ids or not all(isinstance(item, str) for item in ids):
        raise input_error(f"field {name} needs a user id or a list of user ids")
    return ids


# ---------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------
def _members(op: str, operand: Any, context: Context) -> Q:
    ids = _user_ids("members", operand)
    if op == "$in":
        return Q(Exists(Member.objects.filter(channel=OuterRef("pk"), user_id__in=ids)))
    # $eq: exactly this set of members.
    distinct = sorted(set(ids))
    matching = (
        Member.objects.filter(user_id__in=distinct)
        .values("channel_id")
        .annotate(found=Count("id"))
        .filter(found=len(distinct))
        .values("channel_id")
    )
    return Q(member_count=len(distinct), pk__in=matching)


def _own_membership(name: str, condition: Callable[[], Q]) -> Handler:
    """A boolean filter on the querying user's own membership row."""

    def handler(op: str, operand: Any, context: Context) -> Q:
        wanted = _bool_operand(name, op, operand)
        if context.user is None:
            raise input_error(f"field {name} needs a user: send user_id or query with a user token")
        own = Member.objects.filter(condition(), channel=OuterRef("pk"), user=context.user)
        return Q(Exists(own)) if wanted else ~Q(Exists(own))

    return handler


def _muted(op: str, operand: Any, context: Context) -> Q:
    """Channels the querying user muted (a mute in force)."""
    wanted = _bool_operand("muted", op, operand)
    if context.user is None:
        raise input_error("field muted needs a user: send user_id or query with a user token")
    mute = ChannelMute.objects.active().filter(channel=OuterRef("pk"), user=context.user)
    return Q(Exists(mute)) if wanted else ~Q(Exists(mute))


def _blocked(op: str, operand: Any, context: Context) -> Q:
    """The querying user's conversations (two members) with a user it blocks."""
    wanted = _bool_operand("blocked", op, operand)
    if context.user is None:
        raise input_error("field blocked needs a user: send user_id or query with a user token")
    blocked = UserBlock.objects.filter(user=context.user).values("target_id")
    other = Member.objects.filter(channel=OuterRef("pk"), user_id__in=blocked)
    q = Q(member_count=CONVERSATION_MEMBERS) & Q(Exists(other))
    return q if wanted else ~q


def _member_name(op: str, operand: Any, context: Context) -> Q:
    if not isinstance(operand, str):
        raise input_error("member.user.name needs a string")
    lookup = "user__name__icontains" if op == "$autocomplete" else "user__name"
    return Q(Exists(Member.objects.filter(channel=OuterRef("pk"), **{lookup: operand})))


CHANNEL_SCHEMA = Schema(
    fields={
        "cid": FieldSpec("cid", ops=ORDERED),
        "id": FieldSpec("channel_id", ops=ORDERED),
        "type": FieldSpec("type", ops=ORDERED),
        "team": FieldSpec("team", ops=ORDERED),
        "created_by_id": FieldSpec("created_by_id", ops=ORDERED),
        "created_at": FieldSpec("created_at", "date", ORDERED),
        "updated_at": FieldSpec("updated_at", "date", ORDERED),
        "last_message_at": FieldSpec("last_message_at", "date", ORDERED),
        "last_updated": FieldSpec("updated_at", "date", ORDERED),
        "member_count": FieldSpec("member_count", "number", ORDERED),
        "message_count": FieldSpec("message_count", "number", ORDERED),
        "frozen": FieldSpec("frozen", "bool", ORDERED),
        "disabled": FieldSpec("disabled", "bool", frozenset({"$eq"})),
        "name": FieldSpec(kind="custom", ops=TEXT, handler=custom_key("custom", "name")),
        "members": FieldSpec(ops=frozenset({"$in", "$eq"}), handler=_members),
        "member.user.name": FieldSpec(ops=frozenset({"$eq", "$autocomplete"}), handler=_member_name),
        "joined": FieldSpec(ops=frozenset({"$eq"}), handler=_own_membership("joined", Q)),
        "hidden": FieldSpec(
            ops=frozenset({"$eq"}), handler=_own_membership("hidden", lambda: Q(hidden=True))
        ),
        "pinned": FieldSpec(
            ops=frozenset({"$eq"}), handler=_own_membership("pinned", lambda: Q(pinned_at__isnull=False))
        ),
        "archived": FieldSpec(
            ops=frozenset({"$eq"}), handler=_own_membership("archived", lambda: Q(archived_at__isnull=False))
        ),
        "has_unread": FieldSpec(
            ops=frozenset({"$eq"}), handler=_own_membership("has_unread", lambda: Q(unread_messages__gt=0))
        ),
        "muted": FieldSpec(ops=frozenset({"$eq"}), handler=_muted),
        "blocked": FieldSpec(ops=frozenset({"$eq"}), handler=_blocked),
    },
    reserved=frozenset({"config", "own_capabilities", "created_by", "members"}),
)


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------
def _teams(op: str, operand: Any, context: Context) -> Q:
    if op == "$in":
        if not isinstance(operand, list) or not all(isinstance(t, str) for t in operand):
            raise input_error("teams $in needs a list of team names")
        return Q(Exists(_team_links(operand)))
    if isinstance(operand, list):
        # $eq with a list: exactly these teams.
        return Q(teams=operand) if operand else Q(team_links__isnull=True)
    if not isinstance(operand, str):
        raise input_error("teams needs a team name")
    return Q(Exists(_team_links([operand])))


def _team_links(teams: list[str]) -> Any:
    return UserTeam.objects.filter(user=OuterRef("pk"), team__in=teams)


USER_SCHEMA = Schema(
    fields={
        "id": FieldSpec("id", ops=TEXT | {"$ne", "$nin"}),
        "name": FieldSpec("name", ops=TEXT),
        "username": FieldSpec("name", ops=frozenset({"$eq", "$autocomplete"})),
        "role": FieldSpec("role", ops=ORDERED),
        "teams": FieldSpec(ops=frozenset({"$eq", "$in", "$contains"}), handler=_teams),
        "language": FieldSpec("language", ops=frozenset({"$eq"})),
        "created_at": FieldSpec("created_at", "date", ORDERED),
        "updated_at": FieldSpec("updated_at", "date", ORDERED),
        "last_active": FieldSpec("last_active", "date", ORDERED),
        "banned": FieldSpec("banned", "bool", frozenset({"$eq", "$ne"})),
        "shadow_banned": FieldSpec(
            ops=frozenset({"$eq", "$ne"}),
            handler=lambda op, value, ctx: Q() if value is False else Q(pk=None),
        ),
    },
    reserved=frozenset({"teams_role", "online", "deactivated_at"}),
)


# ---------------------------------------------------------------------------
# Members (of one channel)
# ---------------------------------------------------------------------------
def _is_moderator(op: str, operand: Any, context: Context) -> Q:
    q = Q(channel_role="channel_moderator")
    return q if _bool_operand("is_moderator", op, operand) else ~q


MEMBER_SCHEMA = Schema(
    fields={
        "id": FieldSpec("user_id", ops=ORDERED),
        "user_id": FieldSpec("user_id", ops=ORDERED),
        "cid": FieldSpec("channel_id", ops=frozenset({"$eq"})),
        "name": FieldSpec("user__name", ops=TEXT),
        "channel_role": FieldSpec("channel_role", ops=frozenset({"$eq", "$in"})),
        "banned": FieldSpec("banned", "bool", frozenset({"$eq"})),
        "notifications_muted": FieldSpec("notifications_muted", "bool", frozenset({"$eq"})),
        "invite": FieldSpec(
            ops=frozenset({"$eq"}), handler=lambda op, value, ctx: Q(invited=value == "pending")
        ),
        "joined": FieldSpec(
            ops=frozenset({"$eq"}), handler=lambda op, value, ctx: Q() if value is True else Q(pk=None)
        ),
        "is_moderator": FieldSpec(ops=frozenset({"$eq"}), handler=_is_moderator),
        "created_at": FieldSpec("created_at", "date", ORDERED),
        "updated_at": FieldSpec("updated_at", "date", ORDERED),
        "last_active": FieldSpec("user__last_active", "date", ORDERED),
    },
    custom_path="custom",
)


# ---------------------------------------------------------------------------
# Messages (search)
# ---------------------------------------------------------------------------
def text_has_words(text: str) -> Q:
    """Full-text match as search does it: every word of ``text`` is in the message."""
    matching = Q()
    for word in text.split():
        matching &= Q(text__icontains=word)
    return matching


def _message_text(op: str, operand: Any, context: Context) -> Q:
    # The message text is indexed for full-text search: an equality or $q is a
    # match of its words (the UI kit's search sends {"text": <what was typed>}),
    # $autocomplete a match of what was typed as it is.
    if not isinstance(operand, str) or not operand.strip():
        raise input_error(f"{op} for text needs non-empty text")
    if len(operand) > MAX_SEARCH_QUERY:
        raise input_error(f"the searched text is longer than {MAX_SEARCH_QUERY} characters")
    if op == "$autocomplete":
        return Q(text__icontains=operand)
    return text_has_words(operand)


# The longest text one search looks for.
MAX_SEARCH_QUERY = 500

MESSAGE_SCHEMA = Schema(
    fields={
        "id": FieldSpec("id", ops=ORDERED),
        "text": FieldSpec(ops=frozenset({"$eq", "$q", "$autocomplete"}), handler=_message_text),
        "type": FieldSpec("type", ops=frozenset({"$eq", "$in", "$ne", "$nin"})),
        "user.id": FieldSpec("user_id", ops=ORDERED),
        "user_id": FieldSpec("user_id", ops=ORDERED),
        "parent_id": FieldSpec("parent_id", ops=frozenset({"$eq", "$in", "$exists"})),
        "pinned": FieldSpec("pinned", "bool", frozenset({"$eq"})),
        "reply_count": FieldSpec("reply_count", "number", ORDERED),
        "created_at": FieldSpec("created_at", "date", ORDERED),
        "updated_at": FieldSpec("updated_at", "date", ORDERED),
    },
    reserved=frozenset({"attachments", "mentioned_users", "reaction_groups", "deleted_at"}),
)
