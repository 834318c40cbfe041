"""/metrics: who may read it, that every family is there, and that the
counters and gauges follow what happens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from chatengine.tests.factories import make_channel, make_user, multi_tenant, post
from conftest import bearer_client
from streamsync.models import OutboxEntry, OutboxStatus

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"

FAMILIES = {
    "chatplatform_http_requests": "counter",
    "chatplatform_http_request_duration_seconds": "histogram",
    "chatplatform_metrics_collector_up": "gauge",
    "streamsync_outbox_rows": "gauge",
    "streamsync_outbox_oldest_pending_age_seconds": "gauge",
    "streamsync_batches": "counter",
    "streamsync_rows": "counter",
    "streamsync_failures": "counter",
    "streamsync_batch_duration_seconds": "histogram",
    "chatengine_sockets_open": "gauge",
    "chatengine_connections": "counter",
    "chatengine_frames_sent": "counter",
    "chatengine_messages": "counter",
    "chatengine_events": "counter",
}


def scrape(**headers) -> dict[str, dict[tuple, float]]:
    """``{family: {labels (sorted pairs) + sample name: value}}`` from a scrape on loopback."""
    response = bearer_client(None).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text: str) -> dict[str, dict[tuple, float]]:
    families: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
        families[family.name + ":type"] = family.type  # type: ignore[assignment]
    return families


def value(families: dict, family: str, sample: str | None = None, **labels: str) -> float:
    key = (sample or family, *sorted(labels.items()))
    return families.get(family, {}).get(key, 0.0)


def test_a_scrape_shows_every_family_with_its_type():
    families = scrape()
    for name, kind in FAMILIES.items():
        assert families.get(name + ":type") == kind, name
    assert value(families, "chatplatform_metrics_collector_up", collector="chat_sync_outbox") == 1
    assert value(families, "chatplatform_metrics_collector_up", collector="chat_engine_sockets") == 1


def test_other_addresses_are_refused_without_the_token(settings):
    settings.METRICS_TOKEN = TOKEN
    client = bearer_client(None)
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.5")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied" and "METRICS_ALLOWED_IPS" in refused.json()["detail"]
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert wrong.status_code == 403
    # Not a query parameter: tokens in URLs end up in logs and histories.
    assert client.get(f"/metrics?token={TOKEN}", REMOTE_ADDR="203.0.113.5").status_code == 403
    allowed = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert allowed.status_code == 200 and b"chatplatform_http_requests_total" in allowed.content


def test_without_a_configured_token_no_bearer_gets_in(settings):
    settings.METRICS_TOKEN = ""
    response = bearer_client(None).get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_a_request_relayed_by_an_undeclared_proxy_is_not_loopback(settings):
    # nginx on the same host: the peer is 127.0.0.1 whoever the client is.
    response = bearer_client(None).get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4"
    )
    assert response.status_code == 403


def test_allowed_networks_and_declared_proxies(settings):
    settings.METRICS_ALLOWED_IPS = ["10.20.0.0/16"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = bearer_client(None)
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.21.3.4").status_code == 403
    # Loopback is not allowed once the list says otherwise.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_only_reads_are_answered():
    # No CSRF token: the method is what is wrong, and the answer says so.
    refused = APIClient(enforce_csrf_checks=True).post("/metrics")
    assert refused.status_code == 405 and refused["Allow"] == "GET, HEAD"
    assert refused.json()["code"] == "method_not_allowed"


def test_request_counters_move_by_route_not_by_path(world):
    before = scrape()
    client = bearer_client(world.admin)
    for user in (world.member, world.moderator):
        assert client.get(f"/api/users/{user.pk}/").status_code == 200
    assert client.get("/api/users/00000000-0000-0000-0000-000000000000/").status_code == 404
    after = scrape()
    requests = "chatplatform_http_requests"
    labels = {"method": "GET", "route": "user-detail"}
    for status_class, moved in (("2xx", 2), ("4xx", 1)):
        sample = f"{requests}_total"
        grown = value(after, requests, sample, **labels, status_class=status_class) - value(
            before, requests, sample, **labels, status_class=status_class
        )
        assert grown == moved
    duration = "chatplatform_http_request_duration_seconds"
    count = f"{duration}_count"
    assert value(after, duration, count, **labels) - value(before, duration, count, **labels) == 3
    # No series names a raw path.
    assert not any(str(world.member.pk) in str(key) for key in after[requests])


def test_outbox_gauges_follow_the_backlog(world, django_assert_num_queries):
    # The world's users and channels wait in the outbox (no worker ran).
    waiting = OutboxEntry.objects.exclude(status=OutboxStatus.DEAD).count()
    assert waiting > 0
    OutboxEntry.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    dead = OutboxEntry.objects.order_by("id").first()
    OutboxEntry.objects.filter(pk=dead.pk).update(status=OutboxStatus.DEAD)
    with django_assert_num_queries(2):  # the outbox's grouped count, the live sockets
        families = scrape()
    rows = "streamsync_outbox_rows"
    assert value(families, rows, status="pending") == waiting - 1
    assert value(families, rows, status="claimed") == 0
    assert value(families, rows, status="dead") == 1
    age = value(families, "streamsync_outbox_oldest_pending_age_seconds")
    assert 300 <= age < 400


def test_an_empty_outbox_is_zero():
    families = scrape()
    assert value(families, "streamsync_outbox_rows", status="pending") == 0
    assert value(families, "streamsync_outbox_oldest_pending_age_seconds") == 0


def test_engine_counters_move_when_a_message_is_sent(django_capture_on_commit_callbacks):
    multi_tenant()
    alice = make_user("alice")
    channel = make_channel("general", alice)
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        post(channel, alice, "hello")
    after = scrape()
    assert (
        value(after, "chatengine_messages", "chatengine_messages_total")
        - value(before, "chatengine_messages", "chatengine_messages_total")
        == 1
    )
    # message.new to the channel, notification events to members: at least one.
    assert value(after, "chatengine_events", "chatengine_events_total") > value(
        before, "chatengine_events", "chatengine_events_total"
    )


def test_every_family_is_documented_and_the_alerts_name_only_real_metrics():
    import re

    import yaml

    from chatplatform.tests.servers import ROOT

    exposed = {name for name in scrape() if not name.endswith(":type")}
    assert set(FAMILIES) <= exposed
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in FAMILIES:
        documented = name if FAMILIES[name] != "counter" else f"{name}_total"
        assert f"`{documented}`" in operations, name

    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {"ChatSyncBacklogOld", "ChatSyncDeadRows", "HighServerErrorRate", "ChatEngineNoSockets"} <= {
        rule["alert"] for rule in alerts
    }
    suffixes = ("_total", "_bucket", "_count", "_sum")
    for rule in alerts:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
        for used in re.findall(r"\b(?:chatplatform|streamsync|chatengine)_[a-z_]+", rule["expr"]):
            family = next((used.removesuffix(s) for s in suffixes if used.endswith(s)), used)
            assert family in FAMILIES, f"{rule['alert']}: {used} is not a metric"
