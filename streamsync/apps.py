from django.apps import AppConfig


class StreamSyncConfig(AppConfig):
    name = "streamsync"
    verbose_name = "Chat service sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chatplatform.metrics import register_scrape_collector
        from chatplatform.readiness import register_readiness_check
        from streamsync import receivers  # noqa: F401  (connects the signal receivers)
        from streamsync.metrics import outbox_collector
        from streamsync.outbox import backlog

        register_readiness_check("chat_sync_outbox", backlog)
        register_scrape_collector("chat_sync_outbox", outbox_collector)
