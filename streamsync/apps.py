from django.apps import AppConfig


class StreamSyncConfig(AppConfig):
    name = "streamsync"
    verbose_name = "Chat service sync"
    default_auto_field = "django.db.models.BigAutoField"
