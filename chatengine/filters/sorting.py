"""Stream's sort language: the keys each query sorts by, and a sort turned
into ORM orderings."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce, Greatest

from chatengine.errors import input_error

MAX_SORT_FIELDS = 5  # fields in one sort, stated in the error like the filter bounds


def channel_last_updated() -> Greatest:
    return Greatest(Coalesce("last_message_at", "created_at"), F("updated_at"))


SORTABLE_CHANNEL_FIELDS: dict[str, Any] = {
    "last_message_at": F("last_message_at"),
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "member_count": F("member_count"),
    "message_count": F("message_count"),
    "cid": F("cid"),
    "id": F("channel_id"),
    # Computed by the selector: last_updated always, the rest from the
    # querying user's own membership.
    "last_updated": None,
    "has_unread": None,
    "unread_count": None,
    "pinned_at": None,
}
SORTABLE_USER_FIELDS = {
    "id": F("id"),
    "name": F("name"),
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "last_active": F("last_active"),
    "role": F("role"),
}
SORTABLE_MESSAGE_FIELDS = {
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "id": F("id"),
    "reply_count": F("reply_count"),
}
SORTABLE_MEMBER_FIELDS = {
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "user_id": F("user_id"),
    "name": F("user__name"),
    "channel_role": F("channel_role"),
    "pinned_at": F("pinned_at"),
}


def parse_sort(
    sort: Any, allowed: dict[str, Any], annotations: dict[str, Any] | None = None
) -> list[OrderBy]:
    """``[{field, direction}]`` (or the legacy ``{field: direction}``) into
    orderings; nulls always sort last, as Stream does for ``last_message_at``."""
    if sort in (None, [], {}):
        return []
    if isinstance(sort, dict):
        sort = [{"field": key, "direction": value} for key, value in sort.items()]
    if not isinstance(sort, list):
        raise input_error("sort must be a list of {field, direction}")
    if len(sort) > MAX_SORT_FIELDS:
        raise input_error(f"sort holds at most {MAX_SORT_FIELDS} fields, got {len(sort)}")
    orderings: list[OrderBy] = []
    for item in sort:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise input_error("each sort entry needs a field")
        name = item["field"]
        direction = item.get("direction", 1)
        if direction not in (1, -1):
            raise input_error(f"sort direction for {name} must be 1 or -1")
        expression = (annotations or {}).get(name, allowed.get(name))
        if expression is None and name in allowed:
            # A key the query computes for its user (its own membership), and there is none.
            raise input_error(f"sorting by {name} needs a user: send user_id or query with a user token")
        if expression is None:
            raise input_error(f"cannot sort by {name}")
        orderings.append(
            expression.desc(nulls_last=True) if direction == -1 else expression.asc(nulls_last=True)
        )
    return orderings
