from django.apps import AppConfig


class ChatEngineConfig(AppConfig):
    """The built-in Stream-compatible chat service. It knows the control plane
    only through the Stream API, exactly like Stream's cloud."""

    name = "chatengine"
    verbose_name = "Built-in chat engine"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chatengine.metrics import sockets_collector
        from chatengine.services import uploads  # noqa: F401  (connects its receiver)
        from chatplatform.metrics import register_scrape_collector

        register_scrape_collector("chat_engine_sockets", sockets_collector)
