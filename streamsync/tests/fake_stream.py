"""A small Stream-shaped HTTP server for the sync tests: the server-side calls the
worker and the commands make, with real HTTP on 127.0.0.1, state, Stream's error
envelope, and faults on demand (429 with a reset header, 5xx, slow answers,
dropped connections, poison records).

Every request it receives is checked against Stream's OpenAPI spec; the
violations are kept for the tests to assert on.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from specs.stream_spec import request_violations

BUILTIN_ROLES = ["admin", "user", "guest", "anonymous", "channel_member", "channel_moderator"]


def _now() -> str:
    return datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    """What the next matching request gets instead of a normal answer."""

    kind: str  # "status" | "delay" | "drop"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    route: str = ""  # substring of "METHOD /path"; empty matches any


class StreamError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeStream:
    def __init__(self, api_key: str, api_secret: str, *, validate: bool = True) -> None:
        self.validate = validate
        self.api_key = api_key
        self.api_secret = api_secret
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.member_embed_limit = 100  # members a channel carries in a query_channels answer
        self.app: dict[str, Any] = {"multi_tenant_enabled": False, "event_hooks": []}
        self.roles: set[str] = set(BUILTIN_ROLES)
        # Stream's built-in types each start with plain users allowed to create
        # channels, and admins and channel roles allowed to change them.
        self.type_grants: dict[str, dict[str, list[str]]] = {
            name: {
                "user": ["create-channel", "read-channel-owner"],
                "admin": ["create-channel", "delete-channel", "delete-message", "update-channel-members"],
                "channel_member": ["read-channel", "create-message", "remove-own-channel-membership"],
                "channel_moderator": ["read-channel", "update-channel", "truncate-channel-owner"],
            }
            for name in ("messaging", "team", "livestream", "gaming", "commerce")
        }
        self.grants = self.type_grants["messaging"]
        self.faults: deque[Fault] = deque()
        self.poison_users: set[str] = set()
        # How each deleted user was deleted: {"user", "messages", "conversations"}.
        self.deleted_users: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.violations: list[str] = []
        self.calls: Counter[str] = Counter()
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> FakeStream:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- what the tests read ------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Users and channels as a comparable structure."""
        with self.lock:
            users = {
                uid: {
                    "name": u.get("name"),
                    "role": u.get("role"),
                    "teams": u.get("teams"),
                    "teams_role": u.get("teams_role"),
                    "deactivated": bool(u.get("deactivated_at")),
                }
                for uid, u in self.users.items()
            }
            channels = {
                cid: {
                    "team": c["data"].get("team"),
                    "name": c["data"].get("name"),
                    "slug": c["data"].get("slug"),
                    "description": c["data"].get("description"),
                    "visibility": c["data"].get("visibility"),
                    "kind": c["data"].get("kind"),
                    "members": dict(c["members"]),
                }
                for cid, c in self.channels.items()
            }
        return {"users": users, "channels": channels}

    # -- HTTP ------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        route = f"{method} {path}"
        with self.lock:
            self.requests.append((method, path, body))
            self.calls[self._route_name(method, path, body)] += 1
            if self.validate:
                self.violations.extend(request_violations(method, path, body))
            fault = self._take_fault(route)
        if fault is not None:
            if fault.kind == "drop":
                handler.close_connection = True
                handler.connection.close()
                return
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                self._send(
                    handler,
                    fault.status,
                    self._error_body(fault.status, 9 if fault.status == 429 else -1, "injected fault"),
                    fault.headers,
                )
                return
        try:
            self._authenticate(handler, query)
            result = self._route(method, path, query, body or {})
            self._send(
                handler,
                201 if (method == "POST" and path == "/roles") else 200,
                {**result, "duration": "0.01ms"},
            )
        except StreamError as exc:
            self._send(handler, exc.status, self._error_body(exc.status, exc.code, exc.message))

    def _take_fault(self, route: str) -> Fault | None:
        for fault in list(self.faults):
            if fault.route in route:
                self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _route_name(method: str, path: str, body: Any) -> str:
        if (
            method == "POST"
            and path.startswith("/channels/")
            and path.count("/") == 3
            and isinstance(body, dict)
        ):
            for key in (
                "add_members",
                "remove_members",
                "assign_roles",
                "add_moderators",
                "demote_moderators",
            ):
                if key in body:
                    return key
            return "update_channel"
        if path.startswith("/channels/") and path.endswith("/query"):
            return "create_channel"
        short = path if path.count("/") <= 2 or path.startswith("/users/") else path.rsplit("/", 1)[0]
        return f"{method} {short}"

    @staticmethod
    def _error_body(status: int, code: int, message: str) -> dict[str, Any]:
        return {
            "code": code,
            "message": message,
            "StatusCode": status,
            "duration": "0.01ms",
            "more_info": "",
            "details": [],
        }

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.wfile.write(payload)

    def _authenticate(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("api_key") != self.api_key:
            raise StreamError(401, 2, "api_key not valid")
        try:
            claims = jwt.decode(
                handler.headers.get("Authorization", ""), self.api_secret, algorithms=["HS256"]
            )
        except jwt.PyJWTError as exc:
            raise StreamError(401, 43, f"bad token: {exc}") from exc
        if not claims.get("server"):
            raise StreamError(403, 17, "server-side calls need a server token")

    # -- routes --------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        with self.lock:
            if path == "/app":
                if method == "GET":
                    return {"app": dict(self.app, grants=dict(self.type_grants))}
                self.app.update({k: v for k, v in body.items() if k != "grants"})
                return {}
            if path == "/roles":
                if method == "GET":
                    return {
                        "roles": [{"name": r, "custom": r not in BUILTIN_ROLES} for r in sorted(self.roles)]
                    }
                self.roles.add(body["name"])
                return {"role": {"name": body["name"], "custom": True, "scopes": []}}
            if segments[0] == "channeltypes":
                if segments[1] not in self.type_grants:
                    raise StreamError(404, 16, f"channel type {segments[1]} does not exist")
                grants = self.type_grants[segments[1]]
                if method == "PUT":
                    for role, perms in (body.get("grants") or {}).items():
                        if role not in self.roles:
                            raise StreamError(400, 4, f"role {role} does not exist")
                        grants[role] = list(perms)
                return {"name": segments[1], "grants": dict(grants)}
            if path == "/users":
                return self._users(method, query, body)
            if segments[0] == "users":
                return self._user_actions(segments, body)
            if segments[0] == "tasks":
                return {"task_id": segments[1], "status": "completed", "result": {}}
            if path == "/channels" and method == "POST":
                return self._query_channels(body)
            if path == "/channels/delete":
                for cid in body.get("cids", []):
                    self.channels.pop(cid, None)
                return {"task_id": uuid.uuid4().hex}
            if segments[0] == "channels":
                return self._channel(method, segments, query, body)
            if path == "/members":
                return self._members(json.loads(query["payload"]))
        raise StreamError(404, 16, f"no route {method} {path}")

    def _users(self, method: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if method == "POST":
            users = body.get("users", {})
            bad = [uid for uid in users if uid in self.poison_users]
            if bad:
                raise StreamError(400, 4, f"UpsertUsers failed: user {bad[0]} is invalid")
            for uid, user in users.items():
                previous = self.users.get(uid, {})
                self.users[uid] = {
                    **user,
                    "deactivated_at": previous.get("deactivated_at"),
                    "created_at": previous.get("created_at", _now()),
                    "updated_at": _now(),
                }
            return {"users": {uid: self.users[uid] for uid in users}}
        if method == "PATCH":
            for update in body.get("users", []):
                user = self.users.get(update["id"])
                if user is None:
                    raise StreamError(400, 4, f"user {update['id']} does not exist")
                user.update(update.get("set", {}))
                for key in update.get("unset", []):
                    user.pop(key, None)
            return {"users": {u["id"]: self.users[u["id"]] for u in body.get("users", [])}}
        payload = json.loads(query.get("payload", "{}"))
        return {"users": self._query_users(payload)}

    def _query_users(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        conditions = payload.get("filter_conditions", {})
        result = []
        for uid in sorted(self.users):
            user = self.users[uid]
            if user.get("deactivated_at") and not payload.get("include_deactivated_users"):
                continue
            teams = conditions.get("teams", {})
            if "$contains" in teams and teams["$contains"] not in (user.get("teams") or []):
                continue
            ids = conditions.get("id", {})
            if "$gt" in ids and not uid > ids["$gt"]:
                continue
            if "$in" in ids and uid not in ids["$in"]:
                continue
            result.append({"id": uid, **user})
        return result[: payload.get("limit", 30)]

    def _user_actions(self, segments: list[str], body: dict[str, Any]) -> dict[str, Any]:
        action = segments[-1]
        ids = body.get("user_ids") or ([segments[1]] if len(segments) == 3 else [])
        for uid in ids:
            if action == "delete":
                self.users.pop(uid, None)
                self.deleted_users[uid] = {k: body.get(k) for k in ("user", "messages", "conversations")}
                for channel in self.channels.values():
                    channel["members"].pop(uid, None)
                continue
            user = self.users.get(uid)
            if user is None:
                raise StreamError(404, 16, f"user {uid} not found")
            if action == "deactivate":
                user["deactivated_at"] = _now()
            elif action == "reactivate":
                user["deactivated_at"] = None
        return {"task_id": uuid.uuid4().hex}

    def _channel_response(self, cid: str) -> dict[str, Any]:
        channel = self.channels[cid]
        kind, cid_id = cid.split(":", 1)
        members = [
            {"user_id": uid, "channel_role": role, "user": {"id": uid}}
            for uid, role in sorted(channel["members"].items())
        ]
        data = {
            **channel["data"],
            "id": cid_id,
            "type": kind,
            "cid": cid,
            "created_at": channel["created_at"],
            "member_count": len(members),
        }
        return {"channel": data, "members": members}

    def _channel(
        self, method: str, segments: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        kind, channel_id = segments[1], segments[2]
        cid = f"{kind}:{channel_id}"
        if len(segments) == 4 and segments[3] == "query":
            if cid not in self.channels:
                data = dict(body.get("data", {}))
                creator = (data.pop("created_by", None) or {}).get("id")
                if creator not in self.users:
                    raise StreamError(400, 4, f"created_by user {creator} does not exist")
                members = data.pop("members", [])
                self.channels[cid] = {
                    "data": data,
                    "members": {},
                    "created_at": _now(),
                    "created_by": creator,
                }
                for member in members:
                    uid = member if isinstance(member, str) else member["user_id"]
                    self.channels[cid]["members"][uid] = "channel_member"
            return {**self._channel_response(cid), "messages": [], "read": [], "watcher_count": 0}
        channel = self.channels.get(cid)
        if channel is None:
            raise StreamError(404, 16, f"channel {cid} not found")
        if method == "DELETE":
            response = self._channel_response(cid)
            del self.channels[cid]
            return {"channel": response["channel"]}
        if method == "PATCH":
            channel["data"].update({k: v for k, v in body.get("set", {}).items() if k != "team"})
            for key in body.get("unset", []):
                channel["data"].pop(key, None)
            return self._channel_response(cid)
        for item in body.get("add_members") or []:
            uid = item if isinstance(item, str) else item["user_id"]
            if uid not in self.users or uid in self.poison_users:
                raise StreamError(400, 4, f"AddMembers failed: user {uid} is invalid")
            channel["members"][uid] = (
                "channel_member" if isinstance(item, str) else item.get("channel_role", "channel_member")
            )
        for item in body.get("assign_roles") or []:
            channel["members"][item["user_id"]] = item["channel_role"]
        for uid in body.get("remove_members") or []:
            channel["members"].pop(uid, None)
        if "data" in body:
            channel["data"] = dict(body["data"])
        return self._channel_response(cid)

    def _query_channels(self, body: dict[str, Any]) -> dict[str, Any]:
        conditions = body.get("filter_conditions", {})
        found = []
        for cid in sorted(self.channels, key=lambda c: self.channels[c]["created_at"]):
            channel = self.channels[cid]
            if "team" in conditions and channel["data"].get("team") != conditions["team"]:
                continue
            if "type" in conditions and cid.split(":")[0] != conditions["type"]:
                continue
            since = (conditions.get("created_at") or {}).get("$gte")
            if since and channel["created_at"] < since:
                continue
            response = self._channel_response(cid)
            # Like the service, a channel in a query carries its first members only (member_count says all).
            response["members"] = response["members"][: self.member_embed_limit]
            found.append(response)
        offset = body.get("offset", 0)
        return {"channels": found[offset : offset + body.get("limit", 10)]}

    def _members(self, payload: dict[str, Any]) -> dict[str, Any]:
        cid = f"{payload['type']}:{payload['id']}"
        response = self._channel_response(cid)
        offset, limit = payload.get("offset", 0), payload.get("limit", 100)
        return {"members": response["members"][offset : offset + limit]}
