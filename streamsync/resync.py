"""Sending a whole tenant to the chat service again (admin action, support tool)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from channels_app.models import Channel
from streamsync.models import EntityType, SyncState
from streamsync.outbox import enqueue
from tenants.models import Tenant


@transaction.atomic
def tenant_resync(*, tenant: Tenant) -> int:
    """Forget what was synced for the tenant and queue all of it; returns how many
    entities were queued. The worker then sends every user, channel and
    membership list as the database has them (idempotently)."""
    SyncState.objects.filter(tenant_id=tenant.pk).delete()
    user_ids = list(User.objects.filter(tenant=tenant).values_list("pk", flat=True))
    channel_ids = list(Channel.objects.filter(tenant=tenant).values_list("pk", flat=True))
    # Channel membership states may predate tenant ids on their rows: forget them by channel.
    SyncState.objects.filter(
        entity_type=EntityType.CHANNEL_MEMBERS, entity_id__in=[str(pk) for pk in channel_ids]
    ).delete()
    enqueue(EntityType.USER, user_ids, tenant_id=tenant.pk)
    enqueue(EntityType.CHANNEL, channel_ids, tenant_id=tenant.pk)
    enqueue(EntityType.CHANNEL_MEMBERS, channel_ids, tenant_id=tenant.pk)
    return len(user_ids) + 2 * len(channel_ids)
