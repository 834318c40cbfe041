"""The logging and metrics settings: formats by environment, and bad values
refused at start with a message that names them."""

from __future__ import annotations

import json

import pytest

from chatplatform.tests.test_settings import PRODUCTION, _manage

pytestmark = pytest.mark.slow

LOG_ONE_LINE = "import logging; logging.getLogger('chatplatform.probe').warning('probe line')"


def test_production_logs_json_and_development_text():
    production = _manage("shell", "--no-imports", "-c", LOG_ONE_LINE, env=PRODUCTION)
    (line,) = [json.loads(x) for x in production.stderr.splitlines() if "probe line" in x]
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "chatplatform.probe", "probe line")
    assert "request_id" not in line  # outside a request
    development = _manage("shell", "--no-imports", "-c", LOG_ONE_LINE, env={"DEBUG": "1"})
    (text,) = [x for x in development.stderr.splitlines() if "probe line" in x]
    assert text.endswith("WARNING chatplatform.probe [-] probe line")
    chosen = _manage("shell", "--no-imports", "-c", LOG_ONE_LINE, env={**PRODUCTION, "LOG_FORMAT": "text"})
    assert "WARNING chatplatform.probe [-] probe line" in chosen.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be 'json' or 'text'"),
        ("METRICS_ALLOWED_IPS", "127.0.0.1,not-an-address", "METRICS_ALLOWED_IPS: 'not-an-address'"),
        ("METRICS_TOKEN", "short", "METRICS_TOKEN must be at least 16 characters"),
        ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics", "is not a directory"),
    ],
)
def test_bad_values_are_refused_at_start(name, value, message):
    result = _manage("check", env={**PRODUCTION, name: value})
    assert result.returncode != 0
    assert message in result.stderr
