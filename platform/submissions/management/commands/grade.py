"""python manage.py grade <slug-or-lab-path> <folder-or-zip> [--json]

Grades with exactly the workers' pipeline (intake, graders.grade, sandbox.backend()).
Exit 0 when it graded (passed or not), 2 when the input was rejected or grading failed.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from graders import GradeReport, GradingError, LabSpecError, SubmissionRejected
from sandbox import SandboxUnavailable
from submissions.labs import LabNotFound, resolve_lab
from submissions.services import grade_path

MARKS = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}


class Command(BaseCommand):
    help = "Grade a folder or zip against a lab, as a worker would, and print the result."

    def add_arguments(self, parser):
        parser.add_argument("lab", help="a lab slug (published or under labs/) or a path to a lab folder")
        parser.add_argument("path", type=Path, help="a folder or a .zip of the submission")
        parser.add_argument("--json", action="store_true", help="print the report JSON instead of a summary")

    def handle(self, *args, lab: str, path: Path, json: bool, **options):
        try:
            spec = resolve_lab(lab)
            report = grade_path(lab=spec, path=path)
        except (LabNotFound, LabSpecError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        except SubmissionRejected as exc:
            raise CommandError(f"Rejected: {exc}", returncode=2) from None
        except (GradingError, SandboxUnavailable) as exc:
            raise CommandError(f"Grading failed: {exc}", returncode=2) from None
        self.stdout.write(report.to_json(indent=2) if json else summary(report))


def summary(report: GradeReport) -> str:
    lines = [f"{report.lab_slug} (version {report.lab_version}): {report.summary}"]
    for check in report.checks:
        lines.append(f"  {MARKS.get(check.status, check.status)}  {check.name}: {check.message}")
    run = report.run
    lines.append(f"  sandbox {run.backend}, ended {run.termination}, wall {run.wall_seconds:.2f} s")
    if report.run.learner_log and not report.passed:
        lines.append("  your program's output (last lines):")
        lines.extend("    " + line for line in report.run.learner_log.splitlines()[-20:])
    lines.append(("PASSED" if report.passed else "NOT PASSED") + f"  score {report.score:.2f}  digest {report.digest}")
    return "\n".join(lines)
