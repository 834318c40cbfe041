"""Finding and repairing drift between our database and the chat service.

The chat service is read per tenant (users by team, channels by team, their
members) and compared with what the database says it should hold. Repairing
never calls the chat service directly: it forgets what the worker believes
it sent and queues the entities, so the worker's usual path (batching,
retries, dead letters) does the work.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from channels_app.models import Channel
from streamsync import mapping
from streamsync.client import ChatClient
from streamsync.models import EntityType, SyncState, WebhookEvent
from streamsync.outbox import enqueue
from tenants.models import Tenant

PAGE = 100
CHANNEL_PAGE = 30  # the service's limit per query_channels call


@dataclass(frozen=True)
class Drift:
    kind: str  # missing | extra | different
    entity_type: EntityType
    chat_id: str
    detail: str
    remote_members: dict[str, str] | None = None  # for channel members: what the service holds

    def __str__(self) -> str:
        return f"{self.entity_type} {self.chat_id}: {self.kind} ({self.detail})"


@dataclass
class TenantReport:
    tenant: Tenant
    drifts: list[Drift]
    users_checked: int
    channels_checked: int
    webhook_events: int


def _remote_users(client: ChatClient, team: str) -> Iterator[dict[str, Any]]:
    """Every chat user of the team, deactivated ones included (id-cursor pagination)."""
    last = ""
    while True:
        conditions: dict[str, Any] = {"teams": {"$contains": team}}
        if last:
            conditions["id"] = {"$gt": last}
        page = client.query_users(
            conditions, [{"field": "id", "direction": 1}], limit=PAGE, include_deactivated_users=True
        ).get("users", [])
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]["id"]


def _remote_channels(client: ChatClient, team: str) -> Iterator[dict[str, Any]]:
    """Every channel of the team with its state (members included), oldest first."""
    seen: set[str] = set()
    since = ""
    while True:
        conditions: dict[str, Any] = {"type": mapping.CHANNEL_TYPE, "team": team}
        if since:
            conditions["created_at"] = {"$gte": since}
        page = client.query_channels(
            conditions,
            [{"field": "created_at", "direction": 1}],
            limit=CHANNEL_PAGE,
            member_limit=100,
            message_limit=0,
        ).get("channels", [])
        fresh = [state for state in page if state["channel"]["cid"] not in seen]
        for state in fresh:
            seen.add(state["channel"]["cid"])
            yield state
        if len(page) < CHANNEL_PAGE or not fresh:
            return
        since = page[-1]["channel"]["created_at"]


def _remote_members(client: ChatClient, state: dict[str, Any]) -> dict[str, str]:
    channel = state["channel"]
    members = {m["user_id"]: m.get("channel_role", "channel_member") for m in state.get("members", [])}
    if channel.get("member_count", len(members)) <= len(members):
        return members
    handle = client.channel(channel["type"], channel["id"])
    members, offset = {}, 0
    while True:
        # (The SDK answers the members themselves, not the response around them.)
        page = handle.query_members({}, [{"field": "created_at", "direction": 1}], limit=PAGE, offset=offset)
        for member in page:
            members[member["user_id"]] = member.get("channel_role", "channel_member")
        if len(page) < PAGE:
            return members
        offset += PAGE


def _user_differences(user: User, remote: dict[str, Any]) -> list[str]:
    expected = mapping.user_payload(user)
    problems = [
        f"{key} is {remote.get(key)!r}, expected {expected[key]!r}"
        for key in ("name", "teams", "teams_role")
        if remote.get(key) != expected[key]
    ]
    should_be_active = user.is_active and user.tenant is not None and user.tenant.is_active
    if bool(remote.get("deactivated_at")) == should_be_active:
        problems.append("deactivated" if should_be_active else "active, expected deactivated")
    return problems


def reconcile_tenant(client: ChatClient, tenant: Tenant) -> TenantReport:
    """Compare one tenant's users, channels and members with the chat service."""
    team = tenant.slug
    drifts: list[Drift] = []

    users = {u.chat_user_id: u for u in User.objects.filter(tenant=tenant).select_related("tenant")}
    remote_users = {u["id"]: u for u in _remote_users(client, team)}
    for chat_id, user in users.items():
        remote = remote_users.get(chat_id)
        if remote is None:
            drifts.append(Drift("missing", EntityType.USER, chat_id, user.email))
        elif problems := _user_differences(user, remote):
            drifts.append(Drift("different", EntityType.USER, chat_id, "; ".join(problems)))
    for chat_id in remote_users.keys() - users.keys():
        if chat_id != mapping.system_user_id(tenant):
            drifts.append(Drift("extra", EntityType.USER, chat_id, "not in the database"))

    channels = {c.chat_id: c for c in Channel.objects.filter(tenant=tenant).select_related("tenant")}
    remote_channels = {s["channel"]["id"]: s for s in _remote_channels(client, team)}
    for chat_id, channel in channels.items():
        state = remote_channels.get(chat_id)
        if state is None:
            drifts.append(Drift("missing", EntityType.CHANNEL, chat_id, f"#{channel.slug}"))
            continue
        expected = mapping.channel_data(channel)
        problems = [
            f"{key} is {state['channel'].get(key)!r}, expected {value!r}"
            for key, value in expected.items()
            if state["channel"].get(key) != value
        ]
        problems += [
            f"{key} is {state['channel'][key]!r}, expected none"
            for key in mapping.channel_data_absent(channel)
            if state["channel"].get(key)
        ]
        if problems:
            drifts.append(Drift("different", EntityType.CHANNEL, chat_id, "; ".join(problems)))
        wanted = mapping.channel_members(channel)
        actual = _remote_members(client, state)
        if wanted != actual:
            missing = sorted(wanted.keys() - actual.keys())
            extra = sorted(actual.keys() - wanted.keys())
            roles = sorted(u for u in wanted.keys() & actual.keys() if wanted[u] != actual[u])
            detail = f"missing {missing}, extra {extra}, wrong role {roles}"
            drifts.append(Drift("different", EntityType.CHANNEL_MEMBERS, chat_id, detail, actual))
    for chat_id in remote_channels.keys() - channels.keys():
        drifts.append(Drift("extra", EntityType.CHANNEL, chat_id, "not in the database"))

    webhook_events = WebhookEvent.objects.filter(team=team, handled_at__isnull=True).count()
    return TenantReport(tenant, drifts, len(users), len(channels), webhook_events)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@transaction.atomic
def reconcile_fix(report: TenantReport) -> int:
    """Queue the repairs for a report; returns how many entities were queued.

    Missing, different and extra users and channels are re-sent from the
    database (an extra one is deleted, since the database no longer has it).
    A channel's members are diffed against what the service actually holds.
    """
    tenant_id = report.tenant.pk
    queued = 0
    for drift in report.drifts:
        pk = _uuid(drift.chat_id)
        if pk is None:
            continue  # not one of ours: reported, left alone
        if drift.entity_type == EntityType.CHANNEL_MEMBERS:
            SyncState.objects.update_or_create(
                entity_type=EntityType.CHANNEL_MEMBERS,
                entity_id=str(pk),
                defaults={
                    "tenant_id": tenant_id,
                    "data": {"members": drift.remote_members or {}},
                    "synced_at": timezone.now(),
                },
            )
        else:
            SyncState.objects.filter(entity_type=drift.entity_type, entity_id=str(pk)).delete()
        enqueue(drift.entity_type, [pk], tenant_id=tenant_id)
        queued += 1
    WebhookEvent.objects.filter(team=report.tenant.slug, handled_at__isnull=True).update(
        handled_at=timezone.now()
    )
    return queued
