"""python manage.py import_nbgrader RELEASE.ipynb [--source SOURCE.ipynb] [--slug S] [--publish]

Turns an nbgrader assignment into a lab under SKILLFORGE_LABS_DIR (or --labs) whose
grade for a submission is nbgrader's autograde score (graders/nbgrader_import.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from graders.nbgrader_import import ImportProblem, build_lab


class Command(BaseCommand):
    help = "Import an nbgrader assignment (release notebook, and its source for hidden tests) as a lab."

    def add_arguments(self, parser):
        parser.add_argument("release", type=Path, help="the release notebook (what nbgrader gives students)")
        parser.add_argument("--source", type=Path, default=None,
                            help="the source notebook (solutions and hidden tests); without it, visible tests only")
        parser.add_argument("--slug", default=None, help="the lab's slug (default: from the notebook's name)")
        parser.add_argument("--title", default="", help="the lab's title (default: the first markdown heading)")
        parser.add_argument("--pass-bar", type=float, default=0.6, help="share of points needed to pass (0.6)")
        parser.add_argument("--cell-seconds", type=float, default=30.0, help="time limit per cell (nbgrader's 30)")
        parser.add_argument("--labs", type=Path, default=None, help="the labs folder (default SKILLFORGE_LABS_DIR)")
        parser.add_argument("--force", action="store_true", help="replace an existing lab folder")
        parser.add_argument("--publish", action="store_true", help="then publish it (import_labs on that folder)")

    def handle(self, *args, release: Path, source: Path | None, slug: str | None, title: str, pass_bar: float,
               cell_seconds: float, labs: Path | None, force: bool, publish: bool, **options):
        slug = slug or re.sub(r"[^a-z0-9]+", "-", release.stem.lower()).strip("-")
        if not 0 < pass_bar <= 1:
            raise CommandError(f"--pass-bar must be in (0, 1], got {pass_bar}")
        dest = Path(labs or settings.SKILLFORGE_LABS_DIR) / slug
        try:
            notes = build_lab(release=release, source=source, dest=dest, slug=slug, title=title, pass_bar=pass_bar,
                              cell_seconds=cell_seconds, force=force)
        except ImportProblem as exc:
            raise CommandError(f"{exc}\nNothing was written.") from None
        self.stdout.write(f"{slug}: lab written to {dest}")
        for note in notes:
            self.stdout.write(f"note: {note}")
        if publish:
            call_command("import_labs", path=dest, stdout=self.stdout)
