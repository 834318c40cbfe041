from django.apps import AppConfig


class ChatPlatformConfig(AppConfig):
    name = "chatplatform"
    verbose_name = "Chat platform"

    def ready(self) -> None:
        from chatplatform import checks  # noqa: F401  (registers system checks)
