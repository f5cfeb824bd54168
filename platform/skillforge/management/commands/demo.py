"""python manage.py demo [addrport]: the whole site on one machine with nothing to configure.

Migrates the database (SQLite by default), imports labs/, creates the demo accounts,
starts a Celery worker (on the filesystem broker unless REDIS_URL is set) and runs the
development server until Ctrl-C, then stops the worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.services import LabImportError
from graders import LabSpecError


class Command(BaseCommand):
    help = "Run the demo: migrate, import labs, demo accounts, a grading worker and the web server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        if not settings.DEBUG:
            raise CommandError("the demo runs the development server; run it with DEBUG=1")
        call_command("migrate", interactive=False, verbosity=0)
        try:
            call_command("import_labs", stdout=self.stdout)
        except CommandError as exc:
            if not isinstance(exc.__context__, (LabImportError, LabSpecError)):
                raise
            self.stderr.write(f"No labs imported: {exc}")
        call_command("seed_demo", stdout=self.stdout)
        worker = subprocess.Popen(
            # -B: the worker also runs beat (the reconciler, every minute): one process for the demo.
            [sys.executable, "-m", "celery", "-A", "skillforge", "worker", "-Q", "cpu,gpu", "--pool", "solo",
             "--loglevel", "INFO", "-B", "--schedule", str(Path(settings.SKILLFORGE_DATA_DIR) / "celerybeat-schedule")],
            cwd=settings.REPO_DIR,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(settings.PLATFORM_DIR)),
                                                              str(settings.REPO_DIR)])},
        )
        # Stop the worker on SIGTERM too (Ctrl-C already unwinds through the finally below).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(f"Grading worker started (pid {worker.pid}, broker {settings.CELERY_BROKER_URL}).")
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
