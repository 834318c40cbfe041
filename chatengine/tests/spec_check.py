"""Test-only ASGI wrapper that checks what the engine sends against Stream's
official OpenAPI spec (pinned in ``specs/``, Stream's public spec from
GetStream/protocol at commit e51a64d, so the tests run offline).

Every JSON response under the engine's prefix is validated against the
response schema of its operation (method + path template + status); every
WebSocket event against the event schema of its ``type``. Violations are
appended, one JSON object a line, to the file named by ``CHATENGINE_SPEC_LOG``;
the tests assert that file stays empty.

Known, deliberate differences (the spec is stricter than Stream's live API):
- ``custom``: the spec nests custom data under ``custom``; the live API (and
  every SDK) has it flattened into the object, as this engine does.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Any

from django.utils.module_loading import import_string
from openapi_schema_validator import OAS30Validator

from specs.stream_spec import spec

# The app under test and the path prefix the engine is mounted at ("" when standalone).
TARGET = os.environ.get("CHATENGINE_SPEC_TARGET", "chatplatform.asgi.application")
PREFIX = os.environ.get("CHATENGINE_SPEC_PREFIX", "/chat-api")
ALLOWED = (re.compile(r"^'custom' is a required property$"),)
# Older forms of a path the SDKs still call, checked as the operation Stream
# serves them as: ``PATCH /channels/{type}/{id}/member/{user_id}`` (used by
# the JS client's pin/archive and the Python SDK) is UpdateMemberPartial.
ALIASES = ((re.compile(r"^(/channels/[^/]+/[^/]+/member)/[^/]+/?$"), r"\1"),)


def _spec() -> dict[str, Any]:
    return spec()


@cache
def _operations() -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    operations = []
    for template, item in _spec()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "/?$")
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                operations.append((method.upper(), pattern, operation))
    # Literal paths (``/channels/delete``) win over templates (``/channels/{type}``).
    operations.sort(key=lambda op: op[1].pattern.count("[^/]+"))
    return operations


@cache
def _event_schemas() -> dict[str, str]:
    names = {}
    for name, schema in _spec()["components"]["schemas"].items():
        if schema.get("x-stream-is-event"):
            event_type = schema.get("properties", {}).get("type", {}).get("default")
            if event_type and event_type != "*":
                names[event_type] = name
    return names


def _validator(ref: str) -> OAS30Validator:
    return OAS30Validator({"$ref": ref, "components": _spec()["components"]})


def _response_ref(method: str, path: str, status: int) -> str | None:
    for alias, replacement in ALIASES:
        path = alias.sub(replacement, path)
    for op_method, pattern, operation in _operations():
        if op_method == method and pattern.match(path):
            response = operation["responses"].get(str(status))
            if response is None:
                return "missing-status"
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            return schema.get("$ref")
    return None


def violations(ref: str, document: Any) -> list[str]:
    found = []
    for error in _validator(ref).iter_errors(document):
        if any(pattern.match(error.message) for pattern in ALLOWED):
            continue
        location = "/".join(str(p) for p in error.absolute_path)
        found.append(f"{location}: {error.message}"[:400])
    return found


def _log(entry: dict[str, Any], *, suffix: str = "") -> None:
    target = os.environ.get("CHATENGINE_SPEC_LOG")
    if target:
        with open(target + suffix, "a") as handle:
            handle.write(json.dumps(entry) + "\n")


def _checked(where: str) -> None:
    """Record what was checked, so the tests can tell the check really ran."""
    _log({"checked": where}, suffix=".checked")


def response_problems(method: str, route: str, status: int, body: bytes) -> list[str] | None:
    """What breaks the spec in one answer of the engine (``route`` without the
    prefix): ``None`` when the spec has no such operation (e.g. the legacy
    ``DELETE /users/{id}``), else the problems, empty when it conforms. Errors
    are checked against the operation's 400 schema (Stream's APIError)."""
    ref = _response_ref(method, route, status if status < 400 else 400)
    if ref is None:
        return None
    if ref == "missing-status":
        return [f"status {status} is not in the spec"]
    try:
        document = json.loads(body)
    except ValueError:
        return ["body is not JSON"]
    return violations(ref, document)


def check_response(method: str, path: str, status: int, body: bytes) -> None:
    if not path.startswith(PREFIX + "/"):
        return
    route = path[len(PREFIX) :]
    problems = response_problems(method, route, status, body)
    if problems is None:
        return
    _checked(f"{method} {route} {status}")
    if problems:
        _log({"where": f"{method} {path} {status}", "problems": problems})


def check_event(text: str) -> None:
    try:
        event = json.loads(text)
    except ValueError:
        _log({"where": "websocket", "problems": ["frame is not JSON"]})
        return
    name = _event_schemas().get(event.get("type", ""))
    if name is None:
        return
    problems = violations(f"#/components/schemas/{name}", event)
    _checked(f"event {event.get('type')}")
    if problems:
        _log({"where": f"websocket {event.get('type')}", "problems": problems})


@cache
def _target() -> Any:
    return import_string(TARGET)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    project_application = _target()
    if scope["type"] == "http":
        state: dict[str, Any] = {"status": 200, "body": b"", "json": False}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = {name.lower(): value for name, value in message.get("headers") or []}
                state["json"] = headers.get(b"content-type", b"").startswith(b"application/json")
            elif message["type"] == "http.response.body":
                state["body"] += message.get("body", b"")
                if not message.get("more_body") and state["json"]:
                    check_response(scope["method"], scope["path"], state["status"], state["body"])
            await send(message)

        await project_application(scope, receive, capture)
    elif scope["type"] == "websocket":

        async def capture_ws(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send" and message.get("text"):
                check_event(message["text"])
            await send(message)

        await project_application(scope, receive, capture_ws)
    else:
        await project_application(scope, receive, send)
