"""Files and images users send to a channel.

What is stored is what was sent; what the engine trusts is only what it
checked: an image must be PNG, JPEG, GIF or WebP by its first bytes (an SVG
or HTML "image" is refused), and a file is served inline only when it is an
image, audio or video of a known type. Everything else is a download, and
every response forbids sniffing and scripts, so an upload can never run as a
page of this site.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.text import get_valid_filename

from chatengine.errors import Code, StreamError, input_error
from chatengine.models import Channel, ChatUser, Upload, UploadKind

NAME_MAX_LENGTH = 200

# The first bytes of each image format the engine accepts.
_IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),  # after "RIFF" and the size
)
IMAGE_TYPES = frozenset(content_type for _, _, content_type in _IMAGE_SIGNATURES)
# Files a browser may show or play from this site's origin; the rest download.
_INLINE_FILE_TYPE = re.compile(r"(audio|video)/[a-z0-9.+-]+\Z")
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+\Z")


def max_bytes() -> int:
    return int(settings.CHATENGINE_UPLOAD_MAX_MB) * 1024 * 1024


# Room in an upload request for the multipart framing and the small form
# fields around the file (``user``), on top of the file itself.
FORM_OVERHEAD = 64 * 1024


def upload_request_max_bytes() -> int:
    """The largest upload request body: the largest file and its form around it."""
    return max_bytes() + FORM_OVERHEAD


def upload_request_too_large(size: str) -> StreamError:
    return StreamError(
        Code.INPUT,
        f"the request is {size} bytes, more than the {settings.CHATENGINE_UPLOAD_MAX_MB} MB allowed",
        status=413,
    )


def upload_request_size_check(*, declared: str | None) -> None:
    """Refuse an upload request whose declared ``Content-Length`` cannot fit
    the limit, before any of its body is read or spooled to disk. The file's
    exact size is checked again once parsed (``upload_create``)."""
    try:
        length = int(declared or 0)
    except ValueError:
        raise input_error("Content-Length must be a number of bytes") from None
    if length > upload_request_max_bytes():
        raise upload_request_too_large(str(length))


def _image_type(head: bytes) -> str | None:
    for signature, offset, content_type in _IMAGE_SIGNATURES:
        if head[offset : offset + len(signature)] == signature and (offset == 0 or head.startswith(b"RIFF")):
            return content_type
    return None


def _file_name(uploaded: UploadedFile) -> str:
    name = PurePosixPath((uploaded.name or "").replace("\\", "/")).name
    try:
        name = get_valid_filename(name)
    except SuspiciousFileOperation:
        name = "file"
    if len(name) > NAME_MAX_LENGTH:
        stem, extension = os.path.splitext(name)
        extension = extension[:16]
        name = stem[: NAME_MAX_LENGTH - len(extension)] + extension
    return name


def _declared_type(uploaded: UploadedFile) -> str:
    declared = (uploaded.content_type or "").split(";")[0].strip().lower()
    return declared if _CONTENT_TYPE.match(declared) else "application/octet-stream"


def upload_create(
    *, channel: Channel, user: ChatUser, uploaded: UploadedFile | None, kind: UploadKind
) -> Upload:
    """Store ``uploaded`` for ``channel`` (the caller checked the permission)."""
    if uploaded is None:
        raise input_error("file is required: send it as the multipart/form-data field 'file'")
    if not uploaded.size:
        raise input_error("file is empty")
    if uploaded.size > max_bytes():
        raise StreamError(
            Code.INPUT,
            f"file is {uploaded.size} bytes, more than the {settings.CHATENGINE_UPLOAD_MAX_MB} MB allowed",
            status=413,
        )
    uploaded.seek(0)
    head = uploaded.read(16)
    uploaded.seek(0)
    if kind == UploadKind.IMAGE:
        content_type = _image_type(head)
        if content_type is None:
            raise input_error("image must be a PNG, JPEG, GIF or WebP file (send other files as files)")
    else:
        content_type = _declared_type(uploaded)
    upload = Upload(
        id=secrets.token_urlsafe(32),
        channel=channel,
        user=user,
        kind=kind,
        name=_file_name(uploaded),
        content_type=content_type,
        size=uploaded.size,
    )
    upload.data.save(upload.name, uploaded, save=False)
    try:
        with transaction.atomic():
            upload.save(force_insert=True)
    except Exception:
        upload.data.delete(save=False)
        raise
    return upload


def upload_delete(*, upload: Upload) -> None:
    upload.delete()  # the file goes once the deletion commits (below)


@receiver(post_delete, sender=Upload, dispatch_uid="chatengine.upload_deleted")
def _remove_file(sender: type[Upload], instance: Upload, **kwargs: Any) -> None:
    """A deleted upload's file goes once the deletion commits (with its channel too)."""
    name, storage = instance.data.name, instance.data.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def served_inline(upload: Upload) -> bool:
    """Whether a browser may show the upload in place (else it is a download)."""
    if upload.content_type in IMAGE_TYPES:
        return True
    return bool(_INLINE_FILE_TYPE.match(upload.content_type))
