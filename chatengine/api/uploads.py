"""Stream's upload endpoints (``POST``/``DELETE /channels/{type}/{id}/file``
and ``/image``), and the links that serve what was uploaded."""

from __future__ import annotations

import re
from typing import Any

from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.views.decorators.http import require_safe

from chatengine.api.http import Call
from chatengine.errors import input_error, not_allowed, not_found
from chatengine.models import Channel, Upload, UploadKind
from chatengine.selectors import channel_access
from chatengine.services.uploads import served_inline, upload_create, upload_delete

# The upload's id in one of its links (see ``_link``).
_LINK_ID = re.compile(r"/uploads/([A-Za-z0-9_-]{20,64})/")


def _link(call: Call, upload: Upload) -> str:
    """Where the upload is served: under the engine's root as the caller reached it."""
    path = reverse("chatengine-upload", kwargs={"upload_id": upload.id, "name": upload.name})
    return call.request.build_absolute_uri(path)


def _writable_channel(call: Call, cid: str, permission: str, what: str) -> Channel:
    channel, access = call.channel_access(cid)
    if access is None:
        return channel
    if not call.types.config(access.channel.type).get("uploads"):
        raise not_allowed(f"uploads are disabled for channels of type {access.channel.type}")
    access.require(permission, what)
    if access.channel.frozen:
        raise not_allowed(f"channel {cid} is frozen")
    return access.channel


def _upload(call: Call, channel_type: str, channel_id: str, kind: UploadKind) -> dict[str, Any]:
    cid = call.cid(channel_type, channel_id)
    user = call.actor()
    channel = _writable_channel(call, cid, "upload-attachment", "upload files")
    upload = upload_create(channel=channel, user=user, uploaded=call.request.FILES.get("file"), kind=kind)
    link = _link(call, upload)
    body: dict[str, Any] = {"file": link}
    if kind == UploadKind.IMAGE:
        body["thumb_url"] = link
    return body


def _delete(call: Call, channel_type: str, channel_id: str, kind: UploadKind) -> dict[str, Any]:
    cid = call.cid(channel_type, channel_id)
    url = call.query.get("url") or ""
    if not url:
        raise input_error("url is required: the link the upload answered with")
    found = _LINK_ID.search(url)
    upload = Upload.objects.filter(id=found.group(1), channel_id=cid, kind=kind).first() if found else None
    if upload is None:
        raise not_found(f"{kind} {url} in channel {cid}")
    if not call.server:
        own = upload.user_id is not None and call.user is not None and upload.user_id == call.user.id
        access = channel_access(call.caller, cid, call.types)
        access.require(
            "delete-attachment-owner" if own else "delete-attachment",
            "delete this file" if own else "delete other people's files",
        )
    upload_delete(upload=upload)
    return {}


def file_upload(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    return _upload(call, channel_type, channel_id, UploadKind.FILE)


def image_upload(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    return _upload(call, channel_type, channel_id, UploadKind.IMAGE)


def file_delete(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    return _delete(call, channel_type, channel_id, UploadKind.FILE)


def image_delete(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    return _delete(call, channel_type, channel_id, UploadKind.IMAGE)


@require_safe
def upload_serve(request: HttpRequest, upload_id: str, name: str) -> FileResponse:
    """The uploaded bytes. Anyone with the link may fetch them (as with
    Stream's CDN); nothing here can run as a page of this site."""
    upload = Upload.objects.filter(id=upload_id, name=name).first()
    if upload is None:
        raise Http404("no such upload")
    inline = served_inline(upload)
    response = FileResponse(
        upload.data.open("rb"),
        content_type=upload.content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=upload.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    # Chat clients on other origins show images and play media from here.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
