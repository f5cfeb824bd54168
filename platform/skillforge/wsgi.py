"""WSGI entry point: gunicorn skillforge.wsgi (with platform/ and the repo root on PYTHONPATH)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillforge.settings")
application = get_wsgi_application()
