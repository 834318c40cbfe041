"""The real URLs plus views that forget the scoping base on purpose: with
row-level security the database still shows them one tenant's rows."""

from __future__ import annotations

from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.models import User
from audit.models import AuditEvent
from channels_app.models import Channel, Membership
from chatplatform.urls import urlpatterns as real_urlpatterns
from onboarding.models import Invitation
from streamsync.models import OutboxEntry, SyncState
from tenants.models import Tenant


def _tenants_of(request: Request) -> dict[str, list[str]]:
    """Every tenant-owned table read with no filter at all: the tenants its rows belong to."""
    tenants = {
        "tenant": Tenant.objects.values_list("id", flat=True),
        "user": User.objects.exclude(tenant=None).values_list("tenant_id", flat=True),
        "channel": Channel.objects.values_list("tenant_id", flat=True),
        "membership": Membership.objects.values_list("channel__tenant_id", flat=True),
        "invitation": Invitation.objects.values_list("tenant_id", flat=True),
        "audit_event": AuditEvent.objects.values_list("tenant_id", flat=True),
        "outbox_entry": OutboxEntry.objects.values_list("tenant_id", flat=True),
        "sync_state": SyncState.objects.values_list("tenant_id", flat=True),
    }
    return {name: sorted({str(t) for t in ids}) for name, ids in tenants.items()}


class UnscopedTablesView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(_tenants_of(request))

    def post(self, request: Request) -> Response:
        """Writes that name rows by id only: another tenant's are out of reach."""
        channel_id = request.data["channel"]
        renamed = Channel.objects.filter(pk=channel_id).update(name="renamed")
        deleted, _ = Membership.objects.filter(channel_id=channel_id).delete()
        return Response({"renamed": renamed, "deleted": deleted})


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "slug", "tenant"]


class ForgetfulChannelViewSet(viewsets.ReadOnlyModelViewSet):
    """A viewset that does not derive from TenantScopedViewSet."""

    permission_classes = [IsAuthenticated]
    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    pagination_class = None


router = SimpleRouter()
router.register("forgetful-channels", ForgetfulChannelViewSet, basename="forgetful-channel")

urlpatterns = [
    path("test-rls/tables", UnscopedTablesView.as_view()),
    path("test-rls/", include(router.urls)),
    *real_urlpatterns,
]
