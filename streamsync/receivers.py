"""Subscriptions to the domain apps' signals. Each receiver writes outbox rows
in the current transaction and never touches the network."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.signals import users_bulk_changed
from channels_app.models import Channel, Membership
from channels_app.signals import channel_members_changed, channels_bulk_changed
from streamsync.mapping import system_user_id
from streamsync.models import EntityType
from streamsync.outbox import batched, enqueue
from tenants.models import Tenant
from tenants.signals import tenant_deleting, tenant_status_changed

# Saves that touch nothing the chat service holds.
_IRRELEVANT_USER_FIELDS = frozenset({"last_login", "password"})


@receiver(post_save, sender=User, dispatch_uid="streamsync.user_saved")
def user_saved(
    sender: type[User], instance: User, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if instance.tenant_id is None:
        return  # platform staff without a tenant are not chat users
    if update_fields is not None and set(update_fields) <= _IRRELEVANT_USER_FIELDS:
        return
    enqueue(EntityType.USER, [instance.pk], tenant_id=instance.tenant_id)


@receiver(post_delete, sender=User, dispatch_uid="streamsync.user_deleted")
def user_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.tenant_id is not None:
        enqueue(EntityType.USER, [instance.pk], tenant_id=instance.tenant_id)


@receiver(users_bulk_changed, dispatch_uid="streamsync.users_bulk_changed")
def users_changed_in_bulk(sender: Any, tenant_id: Any, user_ids: list[Any], **kwargs: Any) -> None:
    enqueue(EntityType.USER, user_ids, tenant_id=tenant_id)


@receiver(tenant_status_changed, dispatch_uid="streamsync.tenant_status_changed")
def tenant_status_changed_(sender: Any, tenant: Tenant, **kwargs: Any) -> None:
    """Suspension deactivates the tenant's chat users; reactivation restores them."""
    user_ids = User.objects.filter(tenant=tenant).values_list("pk", flat=True).iterator(chunk_size=2000)
    enqueue(EntityType.USER, user_ids, tenant_id=tenant.pk)


@receiver(tenant_deleting, dispatch_uid="streamsync.tenant_deleting")
def tenant_deleting_(sender: Any, tenant: Tenant, **kwargs: Any) -> AbstractContextManager[None]:
    """The deletion cascades to every user, channel and membership of the
    tenant, a signal each: their outbox rows go in bulk."""
    return batched()


@receiver(post_delete, sender=Tenant, dispatch_uid="streamsync.tenant_deleted")
def tenant_deleted(sender: type[Tenant], instance: Tenant, **kwargs: Any) -> None:
    """Its users and channels go with their own rows; the team's system user goes here."""
    enqueue(EntityType.USER, [system_user_id(instance)], tenant_id=instance.pk)


@receiver(post_save, sender=Channel, dispatch_uid="streamsync.channel_saved")
@receiver(post_delete, sender=Channel, dispatch_uid="streamsync.channel_deleted")
def channel_changed(sender: type[Channel], instance: Channel, **kwargs: Any) -> None:
    enqueue(EntityType.CHANNEL, [instance.pk], tenant_id=instance.tenant_id)


@receiver(channels_bulk_changed, dispatch_uid="streamsync.channels_bulk_changed")
def channels_changed_in_bulk(sender: Any, tenant_id: Any, channel_ids: list[Any], **kwargs: Any) -> None:
    enqueue(EntityType.CHANNEL, channel_ids, tenant_id=tenant_id)


@receiver(post_save, sender=Membership, dispatch_uid="streamsync.membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="streamsync.membership_deleted")
def membership_changed(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    # The tenant is only a label on the row; skip the lookup when the channel is not at hand
    # (cascading deletes of thousands of memberships).
    tenant_id = instance.channel.tenant_id if Membership.channel.is_cached(instance) else None
    enqueue(EntityType.CHANNEL_MEMBERS, [instance.channel_id], tenant_id=tenant_id)


@receiver(channel_members_changed, dispatch_uid="streamsync.channel_members_changed")
def channel_members_changed_(sender: Any, channel: Channel, **kwargs: Any) -> None:
    enqueue(EntityType.CHANNEL_MEMBERS, [channel.pk], tenant_id=channel.tenant_id)
