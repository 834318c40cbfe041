"""Schema-driven fuzzing of the whole API (schemathesis: examples, coverage of
boundary and invalid values, then random input): whatever the input, the answer
is never a server error and always matches the documented schema.

Schemathesis expands its tests per operation at collection time, which
pytest-xdist cannot distribute: `make test` runs this file in its own pytest
process, and under xdist it is skipped rather than silently run in part."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.specs.openapi import checks as openapi_checks

from chatplatform.tests.fuzzing import FUZZ_MARKS, keep_the_test_connection  # noqa: F401  (autouse)
from chatplatform.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

pytestmark = FUZZ_MARKS


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
