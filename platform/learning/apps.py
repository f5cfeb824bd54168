from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning: drafts and the learner's dashboard"
    default_auto_field = "django.db.models.BigAutoField"
