"""Schema-driven fuzzing of the whole API (schemathesis): whatever the input,
the answer is never a server error and always matches the documented schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken

from chatplatform.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


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
            schemathesis.specs.openapi.checks.status_code_conformance,
            schemathesis.specs.openapi.checks.response_schema_conformance,
        ],
    )
