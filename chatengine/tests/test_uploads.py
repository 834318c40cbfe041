"""Files and images: who may send and delete them, what is refused, and how
the links serve them (never as a page of this site)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from django.test import Client

from chatengine.models import Channel, Upload
from chatengine.services.app import channel_type_update
from chatengine.tests.factories import StreamClient, make_channel, make_moderator, make_user, multi_tenant

pytestmark = pytest.mark.django_db

FILE = "channels/messaging/acme-room/file"
IMAGE = "channels/messaging/acme-room/image"


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def room(settings, tmp_path: Path):
    settings.MEDIA_ROOT = tmp_path
    multi_tenant()
    ann, bob, mod = make_user("ann"), make_user("bob"), make_user("mod")
    make_user("zed", team="globex")
    make_user("cy")  # of the team, not a member
    channel = make_channel("acme-room", ann, bob, mod)
    make_moderator(channel, "mod")
    return {"channel": channel, "media": tmp_path}


def fetch(url: str):
    path = url.split("://", 1)[1].split("/", 1)[1]
    return Client().get(f"/{path}")


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_member_sends_a_file_and_everyone_with_the_link_downloads_it(room):
    response = StreamClient("ann").upload(FILE, b"%PDF-1.4 minutes", "Minutes 2026.pdf", "application/pdf")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"file", "duration"}
    assert body["file"].startswith("http://testserver/chat-api/uploads/")
    assert body["file"].endswith("/Minutes_2026.pdf")

    served = fetch(body["file"])
    assert served.status_code == 200
    assert body_of(served) == b"%PDF-1.4 minutes"
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    upload = Upload.objects.get()
    assert (upload.user_id, upload.channel_id, upload.content_type) == (
        "ann",
        "messaging:acme-room",
        "application/pdf",
    )


def test_an_image_is_checked_by_its_bytes_and_shown_inline(room):
    response = StreamClient("bob").upload(IMAGE, png(), "dot.png", "image/png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["thumb_url"] == body["file"]
    served = fetch(body["file"])
    assert (served.status_code, served["Content-Type"]) == (200, "image/png")
    assert "attachment" not in served.get("Content-Disposition", "")
    assert body_of(served) == png()


@pytest.mark.parametrize(
    "content, name",
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg"),
        (b"<html><script>alert(1)</script></html>", "x.png"),
    ],
)
def test_an_image_that_is_not_one_is_refused(room, content, name):
    response = StreamClient("ann").upload(IMAGE, content, name, "image/png")
    assert response.status_code == 400
    assert response.json()["code"] == 4
    assert "PNG, JPEG, GIF or WebP" in response.json()["message"]
    assert not Upload.objects.exists()


def test_html_sent_as_a_file_is_only_ever_a_download(room):
    response = StreamClient("ann").upload(FILE, b"<script>alert(1)</script>", "page.html", "text/html")
    served = fetch(response.json()["file"])
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")


def test_audio_and_video_play_in_place(room):
    response = StreamClient("ann").upload(FILE, b"ID3 not really", "voice.mp3", "audio/mpeg")
    served = fetch(response.json()["file"])
    assert served["Content-Type"] == "audio/mpeg"
    assert "attachment" not in served.get("Content-Disposition", "")


@pytest.mark.parametrize(
    "user_id, status, code",
    [
        ("cy", 403, 17),  # the team's, but not a member of the channel
        ("zed", 403, 17),  # another team
    ],
)
def test_only_members_of_the_channels_team_may_upload(room, user_id, status, code):
    response = StreamClient(user_id).upload(FILE, b"x", "x.txt", "text/plain")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Upload.objects.exists()


def test_bad_uploads_are_input_errors_that_say_what_to_fix(room, settings):
    client = StreamClient("ann")
    missing = client.call("POST", FILE, {"file": "not a file"})
    assert missing.status_code == 400 and "multipart/form-data field 'file'" in missing.json()["message"]
    empty = client.upload(FILE, b"", "empty.txt", "text/plain")
    assert empty.status_code == 400 and "empty" in empty.json()["message"]
    settings.CHATENGINE_UPLOAD_MAX_MB = 1
    big = client.upload(FILE, b"x" * (1024 * 1024 + 1), "big.bin", "application/octet-stream")
    assert big.status_code == 413 and "1 MB" in big.json()["message"]
    bad_user = StreamClient().upload(FILE, b"x", "x.txt", "text/plain", user="{not json")
    assert bad_user.status_code == 400 and "user" in bad_user.json()["message"]
    assert not Upload.objects.exists()


@pytest.mark.parametrize("path", [FILE, IMAGE])
def test_an_upload_declaring_too_many_bytes_is_refused_before_its_body_is_read(room, settings, path):
    settings.CHATENGINE_UPLOAD_MAX_MB = 1
    client = StreamClient("ann")
    # No body follows the declared length: reading any of it would fail the
    # test client's input, so a 413 here means the body was never read.
    response = client.client.generic(
        "POST",
        f"/chat-api/{path}?api_key={settings.STREAM_API_KEY}",
        b"",
        # (With no body the test client sets neither header itself.)
        CONTENT_TYPE="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(2 * 1024 * 1024),
        HTTP_AUTHORIZATION=client.token,
        HTTP_STREAM_AUTH_TYPE="jwt",
    )
    assert response.status_code == 413, response.content
    assert response.json()["code"] == 4 and "1 MB" in response.json()["message"]
    assert not Upload.objects.exists()


def test_server_side_uploads_name_their_user(room):
    response = StreamClient().upload(FILE, b"report", "r.txt", "text/plain", user=json.dumps({"id": "bob"}))
    assert response.status_code == 201
    assert Upload.objects.get().user_id == "bob"
    nobody = StreamClient().upload(FILE, b"report", "r.txt", "text/plain")
    assert nobody.status_code == 400


def test_frozen_channels_and_types_without_uploads_refuse_them(room):
    channel = room["channel"]
    Channel.objects.filter(pk=channel.pk).update(frozen=True)
    assert StreamClient("ann").upload(FILE, b"x", "x.txt", "text/plain").status_code == 403
    Channel.objects.filter(pk=channel.pk).update(frozen=False)

    def capabilities() -> list[str]:
        state = StreamClient("ann").call("POST", "channels/messaging/acme-room/query", {"state": True})
        return state.json()["channel"]["own_capabilities"]

    assert "upload-file" in capabilities()
    channel_type_update(name="messaging", data={"uploads": False})
    assert "upload-file" not in capabilities()
    refused = StreamClient("ann").upload(FILE, b"x", "x.txt", "text/plain")
    assert refused.status_code == 403 and "disabled" in refused.json()["message"]


def test_owners_and_moderators_delete_files_and_the_bytes_go(room, django_capture_on_commit_callbacks):
    url = StreamClient("ann").upload(FILE, b"secret plan", "plan.txt", "text/plain").json()["file"]
    stored = room["media"] / Upload.objects.get().data.name
    assert stored.read_bytes() == b"secret plan"

    by_bob = StreamClient("bob").call("DELETE", FILE, url=url)
    assert by_bob.status_code == 403
    wrong_kind = StreamClient("ann").call("DELETE", IMAGE, url=url)
    assert wrong_kind.status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert StreamClient("ann").call("DELETE", FILE, url=url).status_code == 200
    assert fetch(url).status_code == 404
    assert not stored.exists()

    other = StreamClient("bob").upload(FILE, b"b", "b.txt", "text/plain").json()["file"]
    with django_capture_on_commit_callbacks(execute=True):
        assert StreamClient("mod").call("DELETE", FILE, url=other).status_code == 200
    assert not Upload.objects.exists()


def test_a_deleted_channel_takes_its_files_along(room, django_capture_on_commit_callbacks):
    StreamClient("ann").upload(IMAGE, png(), "dot.png", "image/png")
    stored = room["media"] / Upload.objects.get().data.name
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            StreamClient().call("DELETE", "channels/messaging/acme-room", hard_delete="true").status_code
            == 200
        )
    assert not Upload.objects.exists()
    assert not stored.exists()


def test_a_link_with_the_wrong_name_or_id_finds_nothing(room):
    url = StreamClient("ann").upload(FILE, b"x", "x.txt", "text/plain").json()["file"]
    assert fetch(url.rsplit("/", 1)[0] + "/other.txt").status_code == 404
    assert fetch(url.replace("/uploads/", "/uploads/A")).status_code == 404
