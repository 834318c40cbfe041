"""Fuzzing the engine against Stream's own OpenAPI spec (schemathesis: examples,
boundary and invalid values, then random input), for every operation of the
spec that the engine routes, as a server and as a client: whatever the input,
the answer is never a server error, and where the spec describes the answer it
conforms (checked by the same validation as the engine's other suites).

The operations come from the engine's URL conf: a path and method of the spec
is fuzzed when the engine's route for it serves that method, so a new route is
fuzzed without anyone listing it.

Like ``chatplatform/tests/test_fuzz.py``, the tests are expanded per operation
at collection time, which pytest-xdist cannot distribute: ``make test`` runs
this file in its own pytest process, and under xdist it is skipped."""

from __future__ import annotations

import copy
import re
import zlib
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings

from chatengine.tests import spec_check
from chatengine.tests.factories import make_channel, make_user, multi_tenant, post, token
from chatplatform.tests.fuzzing import FUZZ_MARKS, keep_the_test_connection  # noqa: F401  (autouse)
from chatplatform.wsgi import application
from specs.stream_spec import spec

PREFIX = "/chat-api"

# Where the spec and the live API part ways, so that a conforming engine would
# fail the check: (method, path template, the problem's pattern, why).
ALLOWED: list[tuple[str, str, str, str]] = []


SAMPLE = "x1"


def _allowed(method: str, template: str, problem: str) -> bool:
    return any(
        (method, template) == (allowed_method, allowed_template) and re.search(pattern, problem)
        for allowed_method, allowed_template, pattern, _why in ALLOWED
    )


def routed(method: str, template: str) -> bool:
    """Whether the engine has a route for ``template`` that serves ``method``,
    with the template's parameters as its own (not ``/messages/history`` taken
    for the message ``history``)."""
    sample = re.sub(r"\{[^}]+\}", SAMPLE, template)
    try:
        match = resolve(PREFIX + sample)
    except Resolver404:
        return False
    served = method.upper() in getattr(match.func, "methods", ())
    return served and all(value == SAMPLE for value in match.kwargs.values())


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    pending = [node]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                found.add(value["$ref"].rsplit("/", 1)[-1])
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def engine_spec() -> dict[str, Any]:
    """Stream's spec cut down to the operations the engine routes, and to the
    schemas those use (the whole spec makes collection take minutes)."""
    document = copy.deepcopy(spec())
    document["servers"] = [{"url": PREFIX}]
    paths: dict[str, Any] = {}
    for template, item in document["paths"].items():
        kept = {
            method: operation
            for method, operation in item.items()
            if isinstance(operation, dict) and "responses" in operation and routed(method, template)
        }
        if kept:
            paths[template] = {**{k: v for k, v in item.items() if k == "parameters"}, **kept}
    document["paths"] = paths
    schemas = document["components"]["schemas"]
    wanted, pending = set(), _refs(paths)
    while pending:
        name = pending.pop()
        if name not in wanted and name in schemas:
            wanted.add(name)
            pending |= _refs(schemas[name])
    document["components"]["schemas"] = {name: schemas[name] for name in sorted(wanted)}
    return document


schema = schemathesis.openapi.from_dict(engine_spec())
schema.app = application
# The coverage phase expands Stream's large bodies into thousands of cases per
# operation, far past the budget of one test step: examples and random input only.
schema.config.phases.coverage.enabled = False

pytestmark = FUZZ_MARKS


@pytest.fixture
def world() -> None:
    multi_tenant()
    ann, bob = make_user("ann"), make_user("bob")
    post(make_channel("acme-room", ann, bob), ann, "hi", id="m1")


# Half the examples (chosen by a hash, so runs repeat) address objects that
# exist, so handlers get past their lookups; the other half keep what was generated.
EXISTING = {"type": "messaging", "id": "acme-room", "user_id": "bob", "name": "messaging"}
EXISTING_BY_PATH = {"/messages/{id}": {"id": "m1"}}


def _point_at_existing(case: Any) -> None:
    parameters = case.path_parameters or {}
    if not parameters or zlib.crc32(repr(sorted(parameters.items())).encode()) % 2:
        return
    for name in parameters:
        if name in EXISTING:
            parameters[name] = EXISTING[name]
    for prefix, values in EXISTING_BY_PATH.items():
        if case.path.startswith(prefix):
            parameters.update(values)


@pytest.fixture(params=["server", "client"])
def caller(request: pytest.FixtureRequest) -> str:
    return request.param


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_breaks_the_engine(case, caller, world):
    _point_at_existing(case)
    case.query = {**(case.query or {}), "api_key": django_settings.STREAM_API_KEY}
    jwt = token() if caller == "server" else token("ann")
    response = case.call(headers={"Authorization": jwt, "Stream-Auth-Type": "jwt"})
    assert response.status_code < 500, (response.status_code, response.content[:500])
    method, path = case.method.upper(), case.formatted_path
    problems = spec_check.response_problems(method, path, response.status_code, response.content) or []
    problems = [problem for problem in problems if not _allowed(method, case.path, problem)]
    assert problems == [], f"{method} {path} {response.status_code}: {problems}"
