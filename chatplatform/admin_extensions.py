"""Apps extend another app's admin without importing it the other way round.

``extend_admin(Model, Mixin)`` re-registers ``Model`` with a class made of the
mixin and whatever admin is registered now, so extensions compose in any order
(the sync state from ``streamsync``, the console from ``onboarding``).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model


def extend_admin(
    model: type[Model], mixin: type, site: admin.AdminSite = admin.site
) -> type[admin.ModelAdmin]:
    current = type(site._registry[model])
    extended = type(current.__name__, (mixin, current), {"__module__": mixin.__module__})
    site.unregister(model)
    site.register(model, extended)
    return extended
