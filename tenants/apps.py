from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The row-level security hooks: a connection signal and a deploy check.
        from tenants import rls  # noqa: F401
