"""The OpenAPI schema and the docs pages, which must work with no internet."""

from __future__ import annotations

import re
import subprocess
import urllib.request

import pytest
import requests
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from chatplatform.tests.servers import free_port, python, running

DOC_PAGES = ["/swagger/", "/swagger/index.html", "/redoc/"]


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "openapi.yaml"))
    schema = yaml.safe_load((tmp_path / "openapi.yaml").read_text())
    assert schema["openapi"].startswith("3.")


@pytest.mark.django_db
def test_every_operation_has_a_description_of_its_own():
    """Not a docstring inherited from a base class, nor one shared by two operations."""
    from tenants.api.mixins import TenantScopedViewSet

    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    described: dict[str, str] = {}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            description = (op.get("description") or "").strip()
            assert description, f"{method} {path} has no description"
            assert description not in (TenantScopedViewSet.__doc__ or ""), f"{method} {path}"
            assert description not in described, f"{method} {path} says what {described[description]} says"
            described[description] = f"{method} {path}"


@pytest.mark.django_db
def test_every_operation_documents_its_errors():
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 30
    for path, method, op in operations:
        errors = {code: r for code, r in op["responses"].items() if code.startswith("4")}
        if path not in ("/api/health", "/api/ready"):
            assert errors, f"{method} {path} documents no errors"
        for response in errors.values():
            assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
        if "{id}" in path:
            assert "404" in op["responses"], f"{method} {path}"
    assert {"/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/me"} <= set(
        schema["paths"]
    )


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOC_PAGES)
def test_doc_pages_use_only_local_assets(path):
    response = APIClient().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = _asset_urls(html)
    assert assets, "no scripts or styles found"
    for url in assets:
        # Static files, or ReDoc's bundle without its third-party logo (chatplatform/apidocs.py).
        assert url.startswith(("/static/", "/redoc/redoc.standalone.")), url
    assert "cdn" not in html.lower()


def _fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback)
        return response.status, response.headers.get("Content-Type", ""), response.read()


def _check_docs_served(base: str) -> None:
    for path in DOC_PAGES:
        status, _, body = _fetch(base + path)
        assert status == 200
        for asset in _asset_urls(body.decode()):
            status, content_type, payload = _fetch(base + asset)
            assert status == 200, asset
            assert "javascript" in content_type or "css" in content_type, (asset, content_type)
            assert len(payload) > 1000


@pytest.mark.slow
def test_docs_under_the_production_server(tmp_path):
    """gunicorn + whitenoise after collectstatic, DEBUG off: what the Docker image runs."""
    static_root = tmp_path / "static"
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(static_root),
    }
    subprocess.run(  # noqa: S603
        [python(), "manage.py", "collectstatic", "--noinput", "-v0"],
        env={**__import__("os").environ, **env},
        check=True,
        cwd=str(__import__("chatplatform.tests.servers", fromlist=["ROOT"]).ROOT),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [python(), "-m", "gunicorn", "chatplatform.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1"]
    with running(args, env, base + "/api/health"):
        _check_docs_served(base)
        _check_web_client_served(base)


def _check_web_client_served(base: str) -> None:
    """The web client's pages and hashed assets, when it is built (make test builds it)."""
    from chatplatform.tests.servers import ROOT

    index = ROOT / "frontend" / "out" / "index.html"
    if not index.is_file():
        assert not __import__("os").environ.get("REQUIRE_BROWSER"), "the web client is not built"
        return
    page = requests.get(f"{base}/login", timeout=10)
    assert page.status_code == 200 and "no-cache" in page.headers["Cache-Control"]
    asset = re.search(r'/_next/static/[^"]+\.js', page.text)
    assert asset, "the page names its scripts"
    script = requests.get(base + asset.group(0), timeout=10)
    assert script.status_code == 200 and "immutable" in script.headers["Cache-Control"]


@pytest.mark.slow
def test_docs_under_the_development_server(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "ALLOWED_HOSTS": "127.0.0.1"}
    args = [python(), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with running(args, env, base + "/api/health"):
        _check_docs_served(base)
