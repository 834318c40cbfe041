"""Query helpers shared by the selectors."""

from __future__ import annotations

from django.db.models import Count, IntegerField, Model, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_of(model: type[Model], field: str) -> Coalesce:
    """Rows of ``model`` whose ``field`` points at the outer row, as a correlated
    subquery: an annotation that never multiplies rows the way a join would."""
    counts = (
        model._default_manager.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)
