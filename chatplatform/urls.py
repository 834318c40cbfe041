"""Root URLs. Every API path answers with or without its trailing slash."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api.auth_views import LoginView, LogoutView, MeView, RefreshView
from accounts.api.views import UserViewSet
from audit.api.views import AuditEventViewSet
from calls.api.views import IceServersView
from channels_app.api.views import ChannelViewSet
from chatplatform.api.routers import OptionalSlashRouter
from chatplatform.api.views import HealthView, ReadyView, unknown_api_path
from chatplatform.apidocs import RedocView, redoc_bundle
from chatplatform.metrics import metrics_view
from chatplatform.webclient import ROUTE_PATTERN
from chatplatform.webclient import page as web_client_page
from onboarding.api.views import InvitationAcceptView, InvitationViewSet
from onboarding.views import accept_invitation
from streamsync.api.views import ChatTokenView, WebhookView
from tenants.api.views import TenantViewSet

router = OptionalSlashRouter()
router.register("tenants", TenantViewSet, basename="tenant")
router.register("users", UserViewSet, basename="user")
router.register("channels", ChannelViewSet, basename="channel")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("invitations", InvitationViewSet, basename="invitation")

api_patterns: list[URLPattern | URLResolver] = [
    re_path(r"^auth/login/?$", LoginView.as_view(), name="auth-login"),
    re_path(r"^auth/refresh/?$", RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^auth/logout/?$", LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/me/?$", MeView.as_view(), name="auth-me"),
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^ready/?$", ReadyView.as_view(), name="ready"),
    re_path(r"^invitations/accept/?$", InvitationAcceptView.as_view(), name="invitation-accept"),
    re_path(r"^stream/token/?$", ChatTokenView.as_view(), name="stream-token"),
    re_path(r"^stream/webhook/?$", WebhookView.as_view(), name="stream-webhook"),
    re_path(r"^calls/ice-servers/?$", IceServersView.as_view(), name="calls-ice-servers"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", unknown_api_path, name="api-unknown"),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    # The split view serves its start-up script from its own URL (?script), not inline:
    # the Content-Security-Policy admits scripts from this origin only.
    path("swagger/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("swagger/index.html", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-index"),
    path("redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("redoc/redoc.standalone.<str:version>.js", redoc_bundle, name="redoc-bundle"),
    path("admin/", admin.site.urls),
    path("chat-api/", include("chatengine.urls")),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    path("invite/<str:token>", accept_invitation, name="invitation-page"),
    # Last: every other path is a page of the web client (or its 404).
    re_path(ROUTE_PATTERN, web_client_page, name="web-client"),
]

handler400 = "chatplatform.api.views.bad_request_json"
handler403 = "chatplatform.api.views.forbidden_json"
handler404 = "chatplatform.api.views.not_found"
handler500 = "chatplatform.api.views.server_failure"
