"""The shared model bases: rows load lean, and immutable fields refuse to change."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model, signals

from accounts.models import User
from channels_app.models import Channel
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _state(instance: Model) -> dict[str, Any]:
    """What an instance holds, apart from its ``_state`` (compared on its own)."""
    return {name: value for name, value in vars(instance).items() if name != "_state"}


def _django_way(instance: Model) -> Model:
    """The instance Django's own ``Model.from_db`` makes of the same loaded columns."""
    model = type(instance)
    names = [f.attname for f in model._meta.concrete_fields if f.attname in vars(instance)]
    made = Model.from_db.__func__(model, "default", names, [vars(instance)[n] for n in names])  # type: ignore[attr-defined]
    made._loaded_values = instance._loaded_values  # type: ignore[attr-defined]
    return made


@pytest.mark.parametrize("model", [User, Tenant, Channel])
@pytest.mark.parametrize("only", [False, True])
def test_a_loaded_row_is_the_instance_django_would_make(world, model, only):
    queryset = model.objects.all()
    if only:
        queryset = queryset.only("pk", "created_at")
    loaded = list(queryset)
    assert loaded
    for instance in loaded:
        assert _state(instance) == _state(_django_way(instance))
        assert (instance._state.adding, instance._state.db) == (False, "default")
        if only:  # a field not loaded is deferred, and loads when read
            assert "updated_at" in instance.get_deferred_fields()
            assert instance.updated_at == model.objects.get(pk=instance.pk).updated_at
    instance = loaded[0]
    instance.save()  # saves as an update of the row, not an insert
    assert model.objects.filter(pk=instance.pk).count() == 1


def test_the_immutable_fields_are_remembered_as_loaded(world):
    channel = Channel.objects.get(pk=world.public_channel.pk)
    channel.slug = "another-slug"
    with pytest.raises(ValueError, match="slug cannot change"):
        channel.save()
    deferred = Channel.objects.only("pk", "name").get(pk=world.public_channel.pk)
    assert deferred._loaded_values == {}  # type: ignore[attr-defined]  # nothing immutable was loaded


def test_with_an_init_receiver_connected_rows_load_through_init(world):
    seen: list[Model] = []

    def receiver(sender: type[Model], instance: Model, **kwargs: Any) -> None:
        seen.append(instance)

    signals.post_init.connect(receiver, sender=Channel)
    try:
        loaded = list(Channel.objects.all())
    finally:
        signals.post_init.disconnect(receiver, sender=Channel)
    assert loaded and seen == loaded
    assert list(Channel.objects.all()) == loaded and len(seen) == len(loaded)  # disconnected: lean again
