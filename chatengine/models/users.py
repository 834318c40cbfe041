"""Chat users, the ids of hard-deleted ones (their tokens stay refused), and
the index of their teams."""

from __future__ import annotations

from django.db import models

from chatengine.models.base import ID_MAX_LENGTH, ROLE_MAX_LENGTH, TEAM_MAX_LENGTH, StorableValues
from chatplatform.models import TimestampedModel


class ChatUser(TimestampedModel, StorableValues):
    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    role = models.CharField(max_length=ROLE_MAX_LENGTH, default="user")
    # Ordered as given; ``UserTeam`` rows index them for filtering.
    teams = models.JSONField(default=list, blank=True)
    teams_role = models.JSONField(default=dict, blank=True)
    name = models.CharField(max_length=ID_MAX_LENGTH, blank=True)
    image = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    banned = models.BooleanField(default=False)
    invisible = models.BooleanField(default=False)
    last_active = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    revoke_tokens_issued_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["name"], name="chatengine_user_name")]

    def __str__(self) -> str:
        return self.id

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    def role_in_team(self, team: str, *, multi_tenant: bool) -> str:
        """The user's role on a channel of ``team``: its team role when
        multi-tenancy is on and it has one there, else its global role."""
        if multi_tenant and team and team in (self.teams_role or {}):
            return str(self.teams_role[team])
        return self.role


class DeletedUser(StorableValues):
    """The id of a hard-deleted user, and when it went: its tokens stay refused
    (a client connecting with one would otherwise bring the user back, without
    its teams). A server that creates the id again carries the time over as the
    new user's ``revoke_tokens_issued_before``."""

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    deleted_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.id


class UserTeam(StorableValues):
    """Index of ``ChatUser.teams`` so team filters are plain joins on every database."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="team_links")
    team = models.CharField(max_length=TEAM_MAX_LENGTH)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="chatengine_userteam_unique")]
        indexes = [models.Index(fields=["team", "user"], name="chatengine_userteam_team")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team}"
