from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy: data export, account deletion, the audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # <sid:…> in URL patterns (accounts, authoring) must exist before any urls.py is imported.
        from skillforge.security import register_converters

        register_converters()
