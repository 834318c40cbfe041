"""Content-Security-Policy and Permissions-Policy on every surface a browser opens.

That each surface still *works* under the policy is the browser's to say
(frontend/tests/test_web_csp.py); these pin the headers themselves."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db

INLINE = b"(self.__next_f=self.__next_f||[]).push([0])"
PAGE = (
    b'<!doctype html><html><head><script src="/_next/static/chunks/app.js" async=""></script>'
    b"<script>" + INLINE + b'</script></head><body><script id="_R_">self.__next_f.push([1,"x"])</script>'
    b"</body></html>"
)


def _sha256(body: bytes) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"


def directives(response, header: str = "Content-Security-Policy") -> dict[str, list[str]]:
    policy = response[header]
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


@pytest.fixture
def export(tmp_path: Path, settings) -> Path:
    for name in ("index", "login"):
        (tmp_path / f"{name}.html").write_bytes(PAGE)
    settings.WEB_CLIENT_ROOT = tmp_path
    settings.WHITENOISE_ROOT = tmp_path
    return tmp_path


SURFACES = ["/", "/login", "/admin/login/", "/swagger/", "/swagger/index.html", "/redoc/", "/invite/nothing"]


@pytest.mark.parametrize("path", SURFACES)
def test_each_surface_sends_the_policy(export, path):
    response = Client().get(path)
    assert response.status_code in (200, 400), response.status_code
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert not any("unsafe" in source for source in policy["script-src"])
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert "camera=(self)" in response["Permissions-Policy"]


def test_the_web_clients_inline_scripts_are_admitted_by_hash_and_nothing_else(
    export, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = Client().get("/login")
    scripts = directives(response)["script-src"]
    assert sorted(scripts) == sorted(["'self'", _sha256(INLINE), _sha256(b'self.__next_f.push([1,"x"])')])


def test_a_rebuilt_page_gets_its_new_hashes(export):
    Client().get("/")
    changed = PAGE.replace(INLINE, b"self.__next_f=[]")
    (export / "index.html").write_bytes(changed)
    import os

    os.utime(export / "index.html", ns=(1, 10**18))  # a different modification time, whatever the clock
    assert _sha256(b"self.__next_f=[]") in directives(Client().get("/"))["script-src"]


def test_the_docs_inline_no_script():
    for path in ("/swagger/", "/redoc/"):
        html = Client().get(path).content.decode()
        assert "<script>" not in html.replace(" ", ""), path
    script = Client().get("/swagger/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "validatorUrl: null" in script.content.decode()


def test_redoc_is_served_without_third_party_addresses():
    html = Client().get("/redoc/").content.decode()
    assert "fonts.googleapis.com" not in html
    bundle_url = html.split('<script src="')[1].split('"')[0]
    assert bundle_url.startswith("/redoc/redoc.standalone.") and bundle_url.endswith(".js")
    bundle = Client().get(bundle_url)
    assert bundle.status_code == 200
    assert bundle["Content-Type"].startswith("text/javascript")
    assert "immutable" in bundle["Cache-Control"]
    assert b"cdn.redoc.ly" not in bundle.content and b"Redoc" in bundle.content
    assert Client().get("/redoc/redoc.standalone.0123456789abcdef.js").status_code == 404


@pytest.mark.parametrize("path", ["/api/health", "/chat-api/app"])
def test_api_answers_get_the_closed_policy(path):
    response = Client().get(path)
    assert directives(response) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


class TestChatServiceOrigin:
    def test_same_origin_by_default_over_http_and_websocket(self, settings):
        settings.STREAM_BASE_URL = settings.CHATENGINE_PUBLIC_URL = ""
        policy = directives(Client().get("/admin/login/"))
        assert {"http://testserver", "ws://testserver"} <= set(policy["connect-src"])
        assert "http://testserver" in policy["img-src"]

    def test_https_gives_wss(self, settings):
        settings.STREAM_BASE_URL = settings.CHATENGINE_PUBLIC_URL = ""
        settings.SECURE_SSL_REDIRECT = False
        policy = directives(Client().get("/admin/login/", secure=True))
        assert {"https://testserver", "wss://testserver"} <= set(policy["connect-src"])

    def test_the_engine_elsewhere(self, settings):
        settings.STREAM_BASE_URL = ""
        settings.CHATENGINE_PUBLIC_URL = "https://chat.example.com/chat-api"
        policy = directives(Client().get("/"))
        assert {"https://chat.example.com", "wss://chat.example.com"} <= set(policy["connect-src"])
        assert "https://chat.example.com" in policy["media-src"]
        assert "ws://testserver" not in policy["connect-src"]

    def test_the_chat_services_cloud_when_configured(self, settings):
        settings.STREAM_BASE_URL = "https://chat.cloud.example.net"
        policy = directives(Client().get("/"))
        assert {"https://chat.cloud.example.net", "wss://chat.cloud.example.net"} <= set(
            policy["connect-src"]
        )

    def test_it_is_where_the_token_endpoint_sends_the_client(self, world, settings, client_for):
        settings.STREAM_BASE_URL = ""
        settings.CHATENGINE_PUBLIC_URL = "https://chat.example.com/chat-api"
        base_url = client_for(world.member).get("/api/stream/token").json()["base_url"]
        origin = "/".join(base_url.split("/")[:3])
        assert origin in directives(Client().get("/"))["connect-src"]


def test_a_bad_host_still_gets_a_4xx_with_the_policy():
    response = Client(HTTP_HOST="evil.example").get("/admin/login/")
    assert response.status_code == 400
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_report_only_mode_sends_the_same_policy_under_the_other_name(settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = django_settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None
    response = Client().get("/admin/login/")
    assert "Content-Security-Policy" not in response
    assert "script-src 'self'" in response["Content-Security-Policy-Report-Only"]
    api = Client().get("/api/health")
    assert "Content-Security-Policy" not in api
    assert directives(api, "Content-Security-Policy-Report-Only") == {
        "default-src": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def test_permissions_policy_allows_calls_on_this_origin_and_nothing_else():
    header = Client().get("/admin/login/")["Permissions-Policy"]
    features = dict(item.split("=", 1) for item in header.split(", "))
    assert features["camera"] == features["microphone"] == features["display-capture"] == "(self)"
    assert features["geolocation"] == features["payment"] == features["usb"] == "()"
    assert {value for name, value in features.items() if value != "()"} == {"(self)"}
    assert Client().get("/api/health")["Permissions-Policy"] == header
