"""Production settings: refuse to start without secrets, pass `check --deploy`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from chatplatform.tests.servers import ROOT, python

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-like-secret-" + "z" * 20,
    "ALLOWED_HOSTS": "chat.example.com",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT")}
    return subprocess.run(  # noqa: S603
        [python(), "manage.py", *args], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True
    )


@pytest.mark.slow
def test_links_and_the_engine_address_follow_port():
    printed = "from django.conf import settings; print(settings.SITE_URL, settings.CHATENGINE_URL)"
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "CHATENGINE_URL")}
    result = subprocess.run(  # noqa: S603
        [python(), "manage.py", "shell", "--no-imports", "-c", printed],
        env={**clean, "PORT": "8101"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["http://127.0.0.1:8101", "http://127.0.0.1:8101/chat-api"], result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs a Python outside the virtualenv")
def test_manage_py_runs_outside_the_virtualenv():
    # As the docs write commands: `python3 manage.py ...`, no virtualenv activated.
    result = subprocess.run(
        ["/usr/bin/python3", "manage.py", "check"],
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_the_development_console_prints_each_line_once():
    logged = (
        "import logging; "
        "logging.getLogger('django.utils.autoreload').info('Watching for file changes'); "
        "logging.getLogger('django.request').warning('Not Found: /nothing'); "
        "logging.getLogger('django.request').error('Internal Server Error: /broken')"
    )
    result = _manage("shell", "--no-imports", "-c", logged, env={"DEBUG": "1"})
    assert result.stderr.count("Watching for file changes") == 1, result.stderr
    assert "Not Found" not in result.stderr  # the access log has it
    assert result.stderr.count("Internal Server Error: /broken") == 1, result.stderr


@pytest.mark.slow
def test_check_deploy_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", env={"DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.slow
def test_insecure_jwt_cookies_are_flagged():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "COOKIE_SECURE": "0"})
    assert result.returncode != 0
    assert "chatplatform.W001" in result.stderr + result.stdout


@pytest.mark.slow
def test_rotating_secret_key_keeps_what_the_old_key_signed():
    """SECRET_KEY_FALLBACKS are Django's, and the sign-in tokens' too while the
    JWT key is SECRET_KEY; a JWT key of its own has fallbacks of its own."""
    printed = (
        "import json; from django.conf import settings as s; print(json.dumps([s.SECRET_KEY_FALLBACKS, "
        "s.JWT_SIGNING_KEY_FALLBACKS, s.STREAM_API_SECRET_FALLBACKS]))"
    )
    rotating = {**PRODUCTION, "SECRET_KEY_FALLBACKS": "old-1,old-2", "STREAM_API_SECRET_FALLBACKS": "chat-0"}
    shown = _manage("shell", "--no-imports", "-c", printed, env=rotating)
    assert json.loads(shown.stdout) == [["old-1", "old-2"], ["old-1", "old-2"], ["chat-0"]], shown.stderr
    own_key = {**rotating, "JWT_SIGNING_KEY": "j" * 50, "JWT_SIGNING_KEY_FALLBACKS": "older-jwt-key"}
    shown = _manage("shell", "--no-imports", "-c", printed, env=own_key)
    assert json.loads(shown.stdout)[1] == ["older-jwt-key"], shown.stderr
