"""python manage.py labcheck [slug…]: prove every lab (or those named); exit 1 if any fact fails."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from submissions.labcheck import check_labs


class Command(BaseCommand):
    help = ("For each lab: solution scores 1.0 within limits, starter and tests/labs/<slug>/wrong_* score "
            "below the bar, two gradings of the solution are identical.")

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="labs to check (default: all under the labs folder)")
        parser.add_argument("--labs", type=Path, default=None, help="labs folder (default: SKILLFORGE_LABS_DIR)")
        parser.add_argument("--wrong", type=Path, default=None,
                            help="folder of <slug>/wrong_* submissions (default: SKILLFORGE_LAB_TESTS_DIR)")

    def handle(self, *args, slugs: list[str], labs: Path | None, wrong: Path | None, **options):
        failed = 0
        for fact in check_labs(labs_dir=labs or settings.SKILLFORGE_LABS_DIR,
                               tests_dir=wrong or settings.SKILLFORGE_LAB_TESTS_DIR, slugs=slugs):
            self.stdout.write(fact.line())
            self.stdout.flush()
            failed += not fact.ok
        if failed:
            raise CommandError(f"{failed} fact(s) failed", returncode=1)
        self.stdout.write("all labs check out")
