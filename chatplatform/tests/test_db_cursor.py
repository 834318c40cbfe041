"""PostgreSQL timestamps load in C (``chatplatform.db``), with the values Django's own loader gave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts.models import User
from chatplatform.db import sql_cursor


@pytest.fixture
def postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("elsewhere the ORM's converters do the loading")


def test_a_session_in_utc_loads_timestamps_with_the_drivers_loader(postgresql):
    from chatplatform.db import UTCTimestamptzLoader

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader is UTCTimestamptzLoader


@pytest.mark.parametrize(
    "literal", ["2020-01-02 03:04:05.123456+02", "1999-12-31 23:59:59-11:30", "2038-01-19 03:14:08Z"]
)
def test_timestamps_come_back_in_utc_with_their_instant(postgresql, literal):
    expected = datetime.fromisoformat(literal.replace(" ", "T")).astimezone(UTC)
    for cursor in (connection.cursor(), sql_cursor()):
        with cursor:
            cursor.execute("SELECT %s::timestamptz", [literal])
            (value,) = cursor.fetchone()
        assert value == expected
        assert value.tzinfo is UTC


def test_model_timestamps_load_as_before(postgresql, world):
    user = User.objects.get(pk=world.member.pk)
    assert user.created_at == world.member.created_at
    assert user.created_at.tzinfo is UTC
