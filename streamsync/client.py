"""The chat service client: the official ``stream-chat`` SDK, pointed at Stream's
cloud or at the built-in engine, plus how we read its failures."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException


def chat_base_url() -> str:
    """Where the server-side client talks: Stream's URL, or the built-in engine."""
    return settings.STREAM_BASE_URL or settings.CHATENGINE_URL


class RecordingSession(requests.Session):
    """Remembers the last response: the SDK's exceptions drop the headers, and a
    429's ``X-RateLimit-Reset`` lives there."""

    last_response: requests.Response | None = None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.last_response = None
        response = super().request(*args, **kwargs)
        self.last_response = response
        return response


class ChatClient(StreamChat):
    """The SDK client with a session we can inspect after a failure."""

    session: RecordingSession

    def __init__(self, *, api_key: str, api_secret: str, base_url: str, timeout: float) -> None:
        super().__init__(api_key, api_secret, timeout=timeout, base_url=base_url)
        # STREAM_CHAT_TIMEOUT in the environment silently overrides the argument; ours wins.
        self.timeout = timeout
        session = RecordingSession()
        adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.set_http_session(session)

    def rate_limit_reset(self) -> float | None:
        """The Unix time a 429 said to wait for, when the last response carried one."""
        response = self.session.last_response
        if response is None:
            return None
        value = response.headers.get("X-RateLimit-Reset")
        try:
            return float(value) if value else None
        except ValueError:
            return None


_local = threading.local()


def get_client() -> ChatClient:
    """One client per thread (``requests.Session`` is not thread-safe), rebuilt when settings change."""
    key = (settings.STREAM_API_KEY, settings.STREAM_API_SECRET, chat_base_url(), settings.STREAM_TIMEOUT)
    client = getattr(_local, "client", None)
    if client is None or getattr(_local, "key", None) != key:
        client = ChatClient(
            api_key=settings.STREAM_API_KEY,
            api_secret=settings.STREAM_API_SECRET,
            base_url=chat_base_url(),
            timeout=settings.STREAM_TIMEOUT,
        )
        _local.client, _local.key = client, key
    return client


@dataclass(frozen=True)
class Failure:
    """A failed call, classified. ``retry_at`` is set for transient failures.

    ``cause`` (for the metrics): ``rate_limited`` (429), ``unavailable`` (5xx,
    408), ``network`` (timeout, refused or dropped connection), ``rejected``
    (any other answer: a permanent failure) or ``internal`` (not the service's
    answer: a bug on our side)."""

    message: str
    retryable: bool
    rate_limited: bool = False
    retry_at: float | None = None
    cause: str = "internal"


def classify(exc: Exception, client: ChatClient | None = None) -> Failure:
    """Transient (retry): 429, 408, 5xx, timeouts, connection errors; unless the
    service marked the error unrecoverable. Anything else (other 4xx) is permanent."""
    if isinstance(exc, StreamAPIException):
        status = exc.status_code
        if exc.json_response:
            message = f"HTTP {status}: code {exc.error_code}: {exc.error_message}"
        else:
            message = f"HTTP {status}: {exc.response_text[:200]}"
        unrecoverable = False
        if exc.json_response:
            try:
                unrecoverable = bool(json.loads(exc.response_text).get("unrecoverable"))
            except (ValueError, AttributeError):
                unrecoverable = False
        if status == 429:
            reset = client.rate_limit_reset() if client is not None else None
            return Failure(message, retryable=True, rate_limited=True, retry_at=reset, cause="rate_limited")
        if (status == 408 or status >= 500) and not unrecoverable:
            return Failure(message, retryable=True, cause="unavailable")
        return Failure(message, retryable=False, cause="rejected")
    if isinstance(exc, (requests.RequestException, TimeoutError, ConnectionError)):
        return Failure(f"{type(exc).__name__}: {exc}", retryable=True, cause="network")
    # Not the service's answer: a bug on our side. Retrying later is the safe choice;
    # the worker logs it with its traceback.
    return Failure(f"{type(exc).__name__}: {exc}", retryable=True)
