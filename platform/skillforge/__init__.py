"""The SkillForge Django project: settings, URLs, the Celery app and the site's shared templates."""

from .celery import app as celery_app

__all__ = ["celery_app"]
