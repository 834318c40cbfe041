"""Receiving the chat service's webhooks: verify, de-duplicate, record what matters."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import zlib
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from chatplatform.errors import ApplicationError
from streamsync.models import WebhookEvent

MAX_BODY = 10 * 1024 * 1024  # after decompression

# Changes made on the chat side that may mean drift from our database.
RECORDED_EVENTS = frozenset(
    {
        "user.updated",
        "user.deleted",
        "user.deactivated",
        "user.reactivated",
        "channel.updated",
        "channel.deleted",
        "channel.truncated",
        "member.added",
        "member.updated",
        "member.removed",
    }
)


class InvalidWebhook(ApplicationError):
    status_code = 401
    default_code = "invalid_signature"


def webhook_body(raw: bytes, content_encoding: str) -> bytes:
    """The uncompressed body (the signature covers the uncompressed bytes)."""
    if content_encoding.lower() == "gzip" or raw[:2] == b"\x1f\x8b":
        try:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = decompressor.decompress(raw, MAX_BODY + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise ApplicationError("The body is not valid gzip.", code="bad_encoding") from exc
        if len(body) > MAX_BODY or decompressor.unconsumed_tail:
            raise ApplicationError("The body is too large.", code="too_large", status_code=413)
        return body
    return raw


def verify_signature(body: bytes, signature: str) -> None:
    """HMAC-SHA256 of the body with the API secret, or with a secret it replaced
    while a rotation is under way (``STREAM_API_SECRET_FALLBACKS``)."""
    given = signature.strip().lower()
    for secret in [settings.STREAM_API_SECRET, *settings.STREAM_API_SECRET_FALLBACKS]:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if given and hmac.compare_digest(expected, given):
            return
    raise InvalidWebhook("The webhook signature does not match.")


def webhook_receive(*, raw: bytes, signature: str, webhook_id: str, content_encoding: str = "") -> str:
    """Verify and record one webhook. Returns ``recorded``, ``duplicate`` or ``ignored``."""
    body = webhook_body(raw, content_encoding)
    verify_signature(body, signature)
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError as exc:
        raise ApplicationError("The body is not JSON.", code="parse_error") from exc
    if not isinstance(event, dict):
        raise ApplicationError("The body is not a JSON object.", code="parse_error")
    event_type = str(event.get("type", ""))
    if event_type not in RECORDED_EVENTS:
        return "ignored"
    # Two keys, each unique: the delivery id Stream repeats on its retries, and
    # the digest of the signed body, since the id header is not signed and a
    # replayed body may come under any id.
    digest = hashlib.sha256(body).hexdigest()
    webhook_id = webhook_id or digest
    team = event.get("team") or (event.get("channel") or {}).get("team") or ""
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                webhook_id=webhook_id[:128],
                body_digest=digest,
                event_type=event_type,
                team=str(team)[:100],
                payload=event,
            )
    except IntegrityError:
        return "duplicate"
    return "recorded"
