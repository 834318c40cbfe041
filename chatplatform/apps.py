from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ChatPlatformConfig(AppConfig):
    name = "chatplatform"
    verbose_name = "Chat platform"
    default = True

    def ready(self) -> None:
        from chatplatform import (
            checks,  # noqa: F401  (registers system checks)
            db,  # noqa: F401  (loads PostgreSQL timestamps in C)
        )


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the onboarding console's site as ``admin.site``."""

    default = False
    default_site = "chatplatform.admin_site.ConsoleAdminSite"
