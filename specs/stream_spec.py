"""Validating chat-service requests and responses against Stream's OpenAPI spec."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator

SPEC_PATH = Path(__file__).with_name("stream-chat-openapi.json")

# Where the spec is stricter than the live API (and than Stream's own SDK and
# docs). Each entry: (method, path template, test of a validation error).
ALLOWED: list[tuple[str, str, str]] = [
    # 1. The SDK sends "message": null on every channel update call; the spec's
    #    MessageRequest is not nullable.
    ("POST", "/channels/{type}/{id}", "message-null"),
    # 2. Partial channel-type updates: the spec requires max_message_length,
    #    automod and automod_behavior on every update.
    ("PUT", "/channeltypes/{name}", "channel-type-required"),
]
# Two more known false alarms need no entry: members as plain user-id strings
# (we always send {"user_id", "channel_role"} objects), and `watch`/`presence`
# on channel queries (client-side fields; the schemas allow unknown keys).


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Path templates as regexes, literal-heavy ones first so `/channels/{type}/query`
    wins over `/channels/{type}/{id}`."""
    compiled = []
    for template in spec()["paths"]:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        params = template.count("{")
        compiled.append((params, -len(template), re.compile(pattern), template))
    compiled.sort(key=lambda item: (item[0], item[1]))
    return [(regex, template) for _, _, regex, template in compiled]


def match(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The (template, operation) the spec has for this method and path, if any."""
    for regex, template in _templates():
        if regex.match(path):
            operation = spec()["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
    return None


def _validator(schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator({**schema, "components": spec()["components"]})


def _allowed(method: str, template: str, error: ValidationError) -> bool:
    for allowed_method, allowed_template, kind in ALLOWED:
        if (allowed_method, allowed_template) != (method, template):
            continue
        path = list(error.absolute_path)
        if kind == "message-null" and path == ["message"] and error.instance is None:
            return True
        if kind == "channel-type-required" and error.validator == "required" and not path:
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            if set(missing) <= {"max_message_length", "automod", "automod_behavior"}:
                return True
    return False


def _errors(validator: OAS30Validator, body: Any) -> list[ValidationError]:
    errors: list[ValidationError] = []
    pending = list(validator.iter_errors(body))
    while pending:
        error = pending.pop()
        if error.context:  # oneOf/anyOf: look at why each branch failed
            pending.extend(error.context)
        else:
            errors.append(error)
    return errors


def _where(error: ValidationError) -> str:
    return "/".join(map(str, error.absolute_path)) or "<root>"


def request_violations(method: str, path: str, body: Any) -> list[str]:
    """Problems with a request: unknown route, or a body the spec rejects."""
    method = method.upper()
    found = match(method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the spec"]
    template, operation = found
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None or body is None:
        return []
    return [
        f"{method} {template} request {_where(e)}: {e.message}"
        for e in _errors(_validator(schema), body)
        if not _allowed(method, template, e)
    ]
