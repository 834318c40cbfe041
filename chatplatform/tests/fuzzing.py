"""What the two schema fuzzers share: the API's against its own schema
(``chatplatform/tests/test_fuzz.py``) and the engine's against Stream's
(``chatengine/tests/test_fuzz.py``).

Schemathesis expands its tests per operation at collection time, which
pytest-xdist cannot distribute: `make test` runs the fuzzers in their own pytest
process, and under xdist they are skipped rather than silently run in part."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

FUZZ_MARKS = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.skipif(
        bool(os.environ.get("PYTEST_XDIST_WORKER")), reason="run without xdist (make test runs it on its own)"
    ),
]


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """The WSGI handler closes database connections after each request; in a test
    that would close the test's own transaction (Django's test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
