"""The HTTP plumbing every engine endpoint shares: authentication, JSON in and
out, Stream's error envelope and the ``duration`` field.

Views are plain Django views (not DRF): Stream's protocol has its own auth,
error shapes and no CSRF (tokens travel in headers, never in cookies).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from chatengine import auth
from chatengine.errors import (
    BUSY_RETRY_AFTER,
    Code,
    StreamError,
    body_too_large,
    database_busy,
    input_error,
    not_allowed,
)
from chatengine.models import Channel, ChatUser
from chatengine.selectors import Access, ChannelTypes, channel_access, channel_get, user_get
from chatengine.services.app import app_get
from chatengine.services.uploads import upload_request_size_check
from chatengine.services.users import user_for_client
from chatplatform import json_input

logger = logging.getLogger(__name__)


class Call:
    """One authenticated API call: who is calling, the JSON body, the query."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.query = request.GET
        self.body = _json_body(request)
        self.caller = _authenticate(request)
        self.types = ChannelTypes()

    @property
    def server(self) -> bool:
        return self.caller.server

    @property
    def user(self) -> ChatUser | None:
        return self.caller.user

    @staticmethod
    def cid(channel_type: str, channel_id: str) -> str:
        """The channel id a route names: ``type:id``."""
        return f"{channel_type}:{channel_id}"

    def channel_access(
        self, cid: str, *, permission: str = "read-channel", what: str = "read"
    ) -> tuple[Channel, Access | None]:
        """The channel ``cid`` and, for a client, its access there, checked for
        ``permission``. The server reaches every channel: no access (None)."""
        if self.server:
            return channel_get(cid), None
        access = channel_access(self.caller, cid, self.types, permission=permission, what=what)
        return access.channel, access

    def channel(
        self, channel_type: str, channel_id: str, *, permission: str = "read-channel", what: str = "read"
    ) -> Channel:
        """The channel a route names, if the caller may ``permission`` on it (see :meth:`channel_access`)."""
        channel, _ = self.channel_access(self.cid(channel_type, channel_id), permission=permission, what=what)
        return channel

    def payload(self) -> dict[str, Any]:
        """The JSON ``payload`` query parameter GET endpoints take."""
        return _json_object(self.query.get("payload"), "payload")

    def actor(self, *candidates: Any) -> ChatUser:
        """The user a call acts as; a server call must name one."""
        user = self.actor_or_none(*candidates)
        if user is None:
            raise input_error("a user is required: send user.id or user_id with server-side auth")
        return user

    def actor_or_none(self, *candidates: Any) -> ChatUser | None:
        """The token's user for client calls. For server calls, the first user
        named by ``candidates`` (``{"id": ...}`` objects or ids), then by the
        body's ``user`` / ``user_id``, then by the ``user_id`` query parameter;
        ``None`` if none is named (server calls may act as nobody)."""
        if not self.server:
            return self.user
        for candidate in (
            *candidates,
            self.body.get("user"),
            self.body.get("user_id"),
            self.query.get("user_id"),
        ):
            user_id = candidate.get("id") if isinstance(candidate, dict) else candidate
            if isinstance(user_id, str) and user_id:
                return user_get(user_id)
        return None

    def require_server(self) -> None:
        if not self.server:
            raise not_allowed("this endpoint needs server-side auth")

    def flag(self, name: str, source: dict[str, Any] | None = None) -> bool:
        value = (source or {}).get(name, self.query.get(name))
        return value is True or (isinstance(value, str) and value.lower() == "true")


def object_field(value: Any, name: str) -> dict[str, Any]:
    """A JSON object from the request (absent counts as empty), else an input error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise input_error(f"{name} must be an object")
    return value


def _parsed(raw: str | bytes, what: str) -> Any:
    try:
        return json_input.loads(raw)
    except json_input.JSONInputError as exc:
        raise input_error(f"{what} is not valid JSON: {exc}") from exc


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "multipart/form-data":
        return _form_body(request)
    if request.method in ("GET", "DELETE", "HEAD"):
        return {}
    try:
        raw = json_input.read_body(request, request.META.get("CONTENT_LENGTH"))
    except json_input.BodyTooLarge as exc:
        raise StreamError(Code.INPUT, str(exc), status=413) from exc
    if not raw:
        return {}
    body = _parsed(raw, "the request body")
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise input_error("the request body must be a JSON object")
    return body


def _json_object(raw: str | None, what: str) -> dict[str, Any]:
    """``raw`` read as a JSON object (``{}`` when empty or absent)."""
    if not raw:
        return {}
    value = _parsed(raw, what)
    if not isinstance(value, dict):
        raise input_error(f"{what} must be a JSON object")
    return value


def _check_text_arguments(request: HttpRequest, kwargs: dict[str, Any]) -> None:
    """Path segments and query parameters reach the database as text, where
    PostgreSQL refuses a NUL character (and SQLite would store it): refused here,
    for every route, before any lookup."""
    named = [(f"the path segment {name}", value) for name, value in kwargs.items()]
    named += [
        (f"the query parameter {key}", value) for key, values in request.GET.lists() for value in values
    ]
    named += [("a query parameter name", key) for key in request.GET]
    for what, value in named:
        try:
            json_input.text_checked(value)
        except json_input.JSONInputError as exc:
            raise input_error(f"{what} is invalid: {exc}") from exc


def _form_body(request: HttpRequest) -> dict[str, Any]:
    """An upload's form: the file stays in ``request.FILES``; ``user`` (server
    side) is a JSON object in a form field."""
    # Before request.POST: parsing the form reads (and spools) the whole body.
    upload_request_size_check(declared=request.META.get("CONTENT_LENGTH"))
    user = _json_object(request.POST.get("user"), 'the form field user (such as {"id": "..."})')
    return {"user": user} if user else {}


def _authenticate(request: HttpRequest) -> auth.Caller:
    auth.check_api_key(request.GET.get("api_key"))
    auth_type = request.headers.get("stream-auth-type") or request.GET.get("stream-auth-type") or "jwt"
    if auth_type != "jwt":
        raise StreamError(Code.AUTH, "anonymous access is not enabled for this app")
    token = request.headers.get("Authorization", "")
    if token.lower().startswith("bearer "):
        token = token[7:]
    claims = auth.decode_token(token.strip())
    app = app_get()
    if claims.server:
        return auth.Caller(app=app, server=True, user=None)
    user = user_for_client(user_id=claims.user_id or "", multi_tenant=app.multi_tenant_enabled)
    auth.check_not_revoked(claims, app=app, user=user)
    auth.check_user_may_connect(user)
    return auth.Caller(app=app, server=False, user=user)


# Whatever orjson does not encode itself (dates and times, decimals ...) is
# encoded as Django's JsonResponse did.
_encoder = DjangoJSONEncoder()


class JsonResponse(HttpResponse):
    """A JSON body encoded with orjson (several times faster than the standard
    library on the engine's payloads, which are plain dicts, lists, strings and
    numbers). What orjson refuses, an integer beyond 64 bits that a client put
    in custom data, goes through the standard library instead."""

    def __init__(self, data: dict[str, Any], status: int = 200) -> None:
        try:
            content = orjson.dumps(data, default=_encoder.default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except orjson.JSONEncodeError:
            content = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        super().__init__(content, status=status, content_type="application/json")


def _duration(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.2f}ms"


View = Callable[..., dict[str, Any]]


def routes(**handlers: View) -> Callable[..., JsonResponse]:
    """One Django view for one path: ``routes(GET=handler, POST=...)``, each
    handler taking the :class:`Call` and the URL's arguments and returning the
    response body (``duration`` is added here)."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        start = time.perf_counter()
        try:
            handler = handlers.get(request.method or "")
            if handler is None:
                raise StreamError(
                    Code.INPUT, f"method {request.method} is not allowed on this path", status=405
                )
            _check_text_arguments(request, kwargs)
            result = handler(Call(request), **kwargs)
            # Stream answers writes by POST/PUT with 201, everything else with 200.
            status = 201 if request.method in ("POST", "PUT") else 200
            return JsonResponse({**result, "duration": _duration(start)}, status=status)
        except StreamError as error:
            return JsonResponse(error.body(_duration(start)), status=error.status)
        except RequestDataTooBig:
            # (Under WSGI, or a body that did not declare its length.)
            too_large = body_too_large(request.META.get("CONTENT_LENGTH") or "more than that")
            return JsonResponse(too_large.body(_duration(start)), status=too_large.status)
        except Exception as exc:
            busy = database_busy(exc)
            if busy is not None:
                logger.warning("chat engine too busy for %s %s: %s", request.method, request.path, exc)
                response = JsonResponse(busy.body(_duration(start)), status=busy.status)
                response["Retry-After"] = str(BUSY_RETRY_AFTER)
                return response
            logger.exception("chat engine request failed: %s %s", request.method, request.path)
            internal = StreamError(Code.INTERNAL, "internal error", status=500)
            return JsonResponse(internal.body(_duration(start)), status=500)

    view.methods = sorted(handlers)  # type: ignore[attr-defined]  # what the route serves (the index, tests)
    return view


@csrf_exempt
def unknown_endpoint(request: HttpRequest) -> JsonResponse:
    """Any path the engine does not serve: Stream's envelope, not the project's 404 page."""
    error = StreamError(
        Code.DOES_NOT_EXIST, f"{request.method} {request.path} is not an endpoint of this API"
    )
    return JsonResponse(error.body(), status=error.status)
