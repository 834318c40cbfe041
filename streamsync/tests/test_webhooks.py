"""POST /api/stream/webhook: signatures, replays, gzip."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient

from streamsync.models import WebhookEvent

pytestmark = pytest.mark.django_db

URL = "/api/stream/webhook"


def _sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(body: bytes, signature: str, webhook_id: str = "wh-1", **headers):
    return APIClient().generic(
        "POST",
        URL,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
        HTTP_X_WEBHOOK_ID=webhook_id,
        **headers,
    )


EVENT = {"type": "channel.deleted", "team": "acme", "channel": {"cid": "messaging:abc", "team": "acme"}}


def test_good_signature_is_recorded(settings):
    body = json.dumps(EVENT).encode()
    response = _post(body, _sign(body, settings.STREAM_API_SECRET))
    assert response.status_code == 200
    assert response.json() == {"status": "recorded"}
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.team, event.webhook_id) == ("channel.deleted", "acme", "wh-1")
    assert event.payload == EVENT


@pytest.mark.parametrize("signature", ["", "deadbeef", "0" * 64])
def test_bad_signature_is_refused(settings, signature):
    body = json.dumps(EVENT).encode()
    response = _post(body, signature)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_signature_of_another_body_is_refused(settings):
    body = json.dumps(EVENT).encode()
    tampered = body.replace(b"acme", b"evil")
    assert _post(tampered, _sign(body, settings.STREAM_API_SECRET)).status_code == 401


def test_replay_is_acknowledged_once(settings):
    body = json.dumps(EVENT).encode()
    signature = _sign(body, settings.STREAM_API_SECRET)
    assert _post(body, signature).json() == {"status": "recorded"}
    replay = _post(body, signature)
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate"}
    assert WebhookEvent.objects.count() == 1


def test_replay_under_a_new_webhook_id_is_acknowledged_once(settings):
    # The id header is not signed: whoever captured a webhook can resend it with
    # any id, so the signed body itself identifies the delivery.
    body = json.dumps({**EVENT, "created_at": "2026-01-01T00:00:00.123456Z"}).encode()
    signature = _sign(body, settings.STREAM_API_SECRET)
    assert _post(body, signature, webhook_id="wh-1").json() == {"status": "recorded"}
    replay = _post(body, signature, webhook_id="wh-forged")
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate"}
    assert _post(body, signature, webhook_id="").json() == {"status": "duplicate"}
    assert WebhookEvent.objects.count() == 1
    # Another event (another body) under a fresh id is recorded.
    other = json.dumps({**EVENT, "created_at": "2026-01-01T00:00:01Z"}).encode()
    assert _post(other, _sign(other, settings.STREAM_API_SECRET), webhook_id="wh-2").json() == {
        "status": "recorded"
    }


def test_gzip_body_signed_over_uncompressed_bytes(settings):
    body = json.dumps(EVENT).encode()
    response = _post(
        gzip.compress(body), _sign(body, settings.STREAM_API_SECRET), HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get().payload == EVENT


def test_gzip_signature_over_compressed_bytes_is_refused(settings):
    compressed = gzip.compress(json.dumps(EVENT).encode())
    response = _post(compressed, _sign(compressed, settings.STREAM_API_SECRET), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 401


def test_broken_gzip_is_a_400(settings):
    response = _post(b"\x1f\x8bnot really gzip", "x", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400


def test_events_we_do_not_track_are_acknowledged_and_dropped(settings):
    body = json.dumps({"type": "message.new", "message": {"text": "hi"}}).encode()
    response = _post(body, _sign(body, settings.STREAM_API_SECRET))
    assert response.json() == {"status": "ignored"}
    assert not WebhookEvent.objects.exists()


def test_signed_garbage_is_a_400_not_a_500(settings):
    body = b"not json"
    response = _post(body, _sign(body, settings.STREAM_API_SECRET))
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_webhook_signed_with_the_replaced_secret_is_verified_during_a_rotation(settings):
    old = settings.STREAM_API_SECRET
    settings.STREAM_API_SECRET = "the-new-secret-of-the-chat-service-0123456789"
    body = json.dumps(EVENT).encode()
    assert _post(body, _sign(body, old)).status_code == 401
    settings.STREAM_API_SECRET_FALLBACKS = [old]
    assert _post(body, _sign(body, old)).status_code == 200
    new_body = json.dumps({**EVENT, "channel": {"cid": "messaging:new", "team": "acme"}}).encode()
    assert _post(new_body, _sign(new_body, settings.STREAM_API_SECRET), webhook_id="wh-2").status_code == 200
    assert _post(new_body, _sign(new_body, "a-secret-never-used-here"), webhook_id="wh-3").status_code == 401
