"""Files and images users sent to channels."""

from __future__ import annotations

from django.db import models

from chatengine.models.base import StorableValues
from chatengine.models.channels import Channel
from chatengine.models.users import ChatUser


class UploadKind(models.TextChoices):
    FILE = "file"
    IMAGE = "image"


def _upload_path(upload: Upload, filename: str) -> str:
    return f"chat-uploads/{upload.id}/{filename}"


class Upload(StorableValues):
    """A file or image a user sent to a channel (``POST .../file|image``).

    Served at a URL holding its ``id``, 256 random bits: like Stream's CDN
    links, whoever has the link (every reader of the message) can open it.
    Goes with its channel.
    """

    id = models.CharField(primary_key=True, max_length=64)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="uploads")
    user = models.ForeignKey(ChatUser, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=8, choices=UploadKind.choices)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    data = models.FileField(upload_to=_upload_path, max_length=400)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} in {self.channel_id}"
