"""Signals other apps subscribe to (the tenant app never calls them directly)."""

from django.dispatch import Signal

# Sent inside the transaction that changed the status; kwargs: tenant, previous.
tenant_status_changed = Signal()

# Sent inside the deletion's transaction before anything is deleted; kwargs: tenant.
# A receiver may return a context manager, and the deletion runs inside it
# (the outbox collects the rows of the cascade and writes them in bulk).
tenant_deleting = Signal()
