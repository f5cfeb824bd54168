"""python manage.py import_labs [--path labs]: publish labs/<slug>/ as immutable lab versions."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import LabImportError, import_labs
from graders import LabSpecError


class Command(BaseCommand):
    help = "Import labs: a new version for each lab whose content changed; nothing if any lab is malformed."

    def add_arguments(self, parser):
        parser.add_argument("--path", type=Path, default=None,
                            help="a labs folder, or one lab folder (default: SKILLFORGE_LABS_DIR, ./labs)")

    def handle(self, *args, path: Path | None, **options):
        try:
            results = import_labs(path=path or settings.SKILLFORGE_LABS_DIR)
        except (LabSpecError, LabImportError) as exc:
            raise CommandError(f"{exc}\nNothing was imported.") from None
        for r in results:
            if r.new_version:
                what = "new version"
            elif r.now_current:
                what = "current again"
            else:
                what = "unchanged"
            self.stdout.write(f"{r.slug}: {what} {r.version} ({r.content_hash})")
