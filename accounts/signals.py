"""Signals other apps subscribe to. Bulk writes fire no model signals, so the
services that write users in bulk send this instead."""

from django.dispatch import Signal

# Sent inside the transaction that created or changed users in bulk.
# kwargs: tenant_id, user_ids
users_bulk_changed = Signal()
