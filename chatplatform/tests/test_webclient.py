"""Django serves the web client's static export at `/` without shadowing the
server's own paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client


@pytest.fixture
def export(tmp_path: Path, settings) -> Path:
    """A stand-in for `next build`'s output, as WEB_CLIENT_ROOT."""
    (tmp_path / "_next" / "static" / "chunks").mkdir(parents=True)
    for name in ("index", "login", "manage", "profile", "404"):
        (tmp_path / f"{name}.html").write_text(f"<!doctype html><title>{name}</title>")
    (tmp_path / "_next" / "static" / "chunks" / "app-0123abcd.js").write_text("console.log(1)")
    settings.WEB_CLIENT_ROOT = tmp_path
    settings.WHITENOISE_ROOT = tmp_path
    return tmp_path


@pytest.mark.parametrize(("path", "page"), [("/", "index"), ("/login", "login"), ("/manage/", "manage")])
def test_each_route_answers_its_page_never_cached(export, path, page):
    response = Client().get(path)
    assert response.status_code == 200
    assert response.content.decode() == f"<!doctype html><title>{page}</title>"
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


def test_assets_are_served_at_the_root_and_cached_for_good(export):
    response = Client().get("/_next/static/chunks/app-0123abcd.js")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"console.log(1)"
    assert "immutable" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/nowhere", "/login/deeper", "/..%2f..%2fetc%2fpasswd"])
def test_unknown_paths_get_the_clients_404_page(export, path):
    response = Client().get(path)
    assert response.status_code == 404
    if path != "/..%2f..%2fetc%2fpasswd":
        assert response.content.decode() == "<!doctype html><title>404</title>"


@pytest.mark.parametrize("path", ["/api/nowhere", "/api", "/chat-api"])
def test_the_servers_own_paths_are_not_pages_of_the_client(export, path):
    response = Client().get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert b"<title>404</title>" not in response.content


def test_the_admin_and_api_docs_are_untouched(export):
    client = Client()
    assert client.get("/admin/").status_code == 302  # to the console's login
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.get("/swagger/").status_code == 200
    assert client.get("/redoc/").status_code == 200


def test_pages_refuse_writes(export):
    assert Client().post("/login").status_code == 405


def test_an_unbuilt_client_says_how_to_build_it(tmp_path, settings):
    settings.WEB_CLIENT_ROOT = tmp_path / "missing"
    response = Client().get("/")
    assert response.status_code == 503
    assert b"make run" in response.content
