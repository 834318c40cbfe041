"""Schema-driven fuzzing of the whole API (schemathesis: examples, coverage of
boundary and invalid values, then random input): whatever the input, the answer
is never a server error and always matches the documented schema.

Schemathesis expands its tests per operation at collection time, which
pytest-xdist cannot distribute: `make test` runs this file in its own pytest
process, and under xdist it is skipped rather than silently run in part."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.specs.openapi import checks as openapi_checks

from chatplatform.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.skipif(
        bool(os.environ.get("PYTEST_XDIST_WORKER")), reason="run without xdist (make test runs it on its own)"
    ),
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes database connections after each request; in a test
    that would close the test's own transaction (Django's test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def headers(world) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(world.admin).access_token}"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_breaks_the_api(case, headers):
    response = case.call(headers=headers)
    case.validate_response(
        response,
        checks=[
            schemathesis.checks.not_a_server_error,
            openapi_checks.status_code_conformance,
            openapi_checks.response_schema_conformance,
        ],
    )
