from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    """Onboarding organizations and people: the console, invitations and
    set-password links, bulk import and export, per-user data export."""

    name = "onboarding"
    verbose_name = "Onboarding"
    default_auto_field = "django.db.models.BigAutoField"
