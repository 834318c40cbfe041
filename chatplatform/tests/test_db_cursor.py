"""``chatplatform.db.sql_cursor`` loads values exactly as the ORM does."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db import connection

from accounts.models import User
from chatplatform.db import sql_cursor


@pytest.mark.django_db
def test_timestamps_come_back_as_the_orm_loads_them(world, settings):
    if connection.vendor != "postgresql":
        pytest.skip("elsewhere the ORM's converters do the loading")
    settings.DEBUG = False  # queries not logged: the driver's own cursor
    expected = dict(User.objects.values_list("id", "created_at"))
    table = connection.ops.quote_name(User._meta.db_table)
    with sql_cursor() as cursor:
        cursor.execute(f"SELECT id, created_at FROM {table}")  # noqa: S608 (a model's table)
        loaded = dict(cursor.fetchall())
    assert loaded == expected
    assert {value.tzinfo for value in loaded.values()} == {UTC}
