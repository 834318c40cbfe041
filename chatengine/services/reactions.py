"""Reactions to a message: adding, updating and removing them, with the
message's reaction groups kept up to date."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from chatengine.errors import Code, StreamError, input_error
from chatengine.models import ChatUser, Message, Reaction
from chatengine.serializers import channel_payload, iso, reaction_payload
from chatengine.services.message_content import message_event


def _refresh_reaction_groups(message: Message) -> None:
    rows = (
        Reaction.objects.filter(message=message)
        .values("type")
        .annotate(count=Count("id"), sum_scores=Sum("score"), first=Min("created_at"), last=Max("updated_at"))
    )
    message.reaction_groups = {
        row["type"]: {
            "count": row["count"],
            "sum_scores": row["sum_scores"],
            "first_reaction_at": iso(row["first"]),
            "last_reaction_at": iso(row["last"]),
        }
        for row in rows
    }
    message.save(update_fields=["reaction_groups"])


@transaction.atomic
def reaction_send(
    *, message: Message, user: ChatUser, data: dict[str, Any], enforce_unique: bool
) -> tuple[Message, Reaction, bool]:
    """Add or update ``user``'s reaction of ``data.type``; with ``enforce_unique``
    the user's other reactions on the message go. Returns whether it was new."""
    kind = data.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise input_error("reaction.type is required")
    score = data.get("score", 1)
    if isinstance(score, bool) or not isinstance(score, int) or score < 1:
        raise input_error("reaction.score must be a positive integer")
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    now = timezone.now()
    if enforce_unique:
        Reaction.objects.filter(message=message, user=user).exclude(type=kind).delete()
    custom = {
        k: v
        for k, v in data.items()
        if k
        not in {"type", "score", "emoji_code", "user", "user_id", "message_id", "created_at", "updated_at"}
    }
    reaction, created = Reaction.objects.update_or_create(
        message=message,
        user=user,
        type=kind,
        defaults={
            "score": score,
            "emoji_code": data.get("emoji_code") or "",
            "custom": custom,
            "updated_at": now,
        },
        create_defaults={
            "score": score,
            "emoji_code": data.get("emoji_code") or "",
            "custom": custom,
            "created_at": now,
            "updated_at": now,
        },
    )
    _refresh_reaction_groups(message)
    message.updated_at = now
    message.save(update_fields=["updated_at"])
    message = Message.objects.select_related("user", "channel").get(pk=message.pk)
    reaction = Reaction.objects.select_related("user").get(pk=reaction.pk)
    message_event(
        "reaction.new" if created else "reaction.updated",
        message,
        user,
        reaction=reaction_payload(reaction),
        channel=channel_payload(message.channel),
    )
    return message, reaction, created


@transaction.atomic
def reaction_delete(*, message: Message, user: ChatUser, kind: str) -> tuple[Message, dict[str, Any]]:
    message = Message.objects.select_for_update(of=("self",)).select_related("channel").get(pk=message.pk)
    reaction = Reaction.objects.select_related("user").filter(message=message, user=user, type=kind).first()
    if reaction is None:
        raise StreamError(Code.DOES_NOT_EXIST, f"reaction {kind} of user {user.id} does not exist")
    payload = reaction_payload(reaction)
    reaction.delete()
    _refresh_reaction_groups(message)
    message = Message.objects.select_related("user", "channel").get(pk=message.pk)
    message_event(
        "reaction.deleted", message, user, reaction=payload, channel=channel_payload(message.channel)
    )
    return message, payload
