"""Signals other apps subscribe to. Bulk writes fire no model signals, so the
services send these instead."""

from django.dispatch import Signal

# Sent inside the transaction that changed the members of ``channel`` in bulk.
# kwargs: channel, user_ids (the users whose membership changed)
channel_members_changed = Signal()
