"""Signals other apps subscribe to (the tenant app never calls them directly)."""

from django.dispatch import Signal

# Sent inside the transaction that changed the status; kwargs: tenant, previous.
tenant_status_changed = Signal()
