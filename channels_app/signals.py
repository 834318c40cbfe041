"""Signals other apps subscribe to. Bulk writes fire no model signals, so the
services send these instead."""

from django.dispatch import Signal

# Sent inside the transaction that changed the members of ``channel`` in bulk.
# kwargs: channel, user_ids (the users whose membership changed)
channel_members_changed = Signal()

# Sent inside the transaction that created or changed channels in bulk (their
# name, description or visibility); members are announced separately.
# kwargs: tenant_id, channel_ids
channels_bulk_changed = Signal()
