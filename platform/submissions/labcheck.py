"""Proving a lab: the solution scores 1.0 within limits, the starter and every known-wrong
submission score below the bar, and two gradings of the solution give identical reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from graders import GradeReport, GradingError, LabSpec, LabSpecError, SubmissionRejected, load_lab
from sandbox import SandboxUnavailable

from .services import grade_path


@dataclass(frozen=True)
class Fact:
    lab: str
    ok: bool
    text: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.lab}: {self.text}"


class _Ungradable(Exception):
    pass


def _grade(spec: LabSpec, folder: Path) -> GradeReport:
    try:
        return grade_path(lab=spec, path=folder)
    except (SubmissionRejected, GradingError, SandboxUnavailable) as exc:
        raise _Ungradable(f"{folder.name} could not be graded: {exc}") from None


def check_lab(spec: LabSpec, *, wrong_dir: Path) -> Iterator[Fact]:
    slug, bar = spec.slug, spec.pass_bar
    try:
        first = _grade(spec, spec.solution_dir)
        yield Fact(slug, first.score == 1.0, f"solution scores {first.score:.2f} (needs 1.00)")
        within = first.run.termination == "ok" and first.run.wall_seconds < spec.limits.wall_seconds
        yield Fact(slug, within, f"solution ends {first.run.termination} in {first.run.wall_seconds:.2f} s "
                                 f"(limit {spec.limits.wall_seconds:g} s)")
        starter = _grade(spec, spec.starter_dir)
        yield Fact(slug, starter.score < bar, f"starter scores {starter.score:.2f} (must be below {bar:.2f})")
        for wrong in sorted(p for p in wrong_dir.glob("wrong_*") if p.is_dir()):
            report = _grade(spec, wrong)
            yield Fact(slug, report.score < bar, f"{wrong.name} scores {report.score:.2f} (must be below {bar:.2f})")
        second = _grade(spec, spec.solution_dir)
        same = first.canonical_bytes() == second.canonical_bytes()
        yield Fact(slug, same, f"two gradings of the solution give {'identical' if same else 'DIFFERENT'} reports "
                               f"({first.digest}{'' if same else ' vs ' + second.digest})")
    except _Ungradable as exc:
        yield Fact(slug, False, str(exc))


def check_labs(*, labs_dir: Path, tests_dir: Path, slugs: list[str]) -> Iterator[Fact]:
    """Facts for every lab under labs_dir (or only those named); a malformed lab is one failed fact."""
    folders = sorted(p for p in labs_dir.iterdir() if p.is_dir() and (p / "lab.toml").is_file()) \
        if labs_dir.is_dir() else []
    found: set[str] = set()
    for folder in folders:
        if slugs and folder.name not in slugs:
            continue
        found.add(folder.name)
        try:
            spec = load_lab(folder)
        except LabSpecError as exc:
            yield Fact(folder.name, False, f"lab does not load: {exc}")
            continue
        yield from check_lab(spec, wrong_dir=tests_dir / spec.slug)
    for slug in slugs:
        if slug not in found:
            yield Fact(slug, False, f"no lab folder {labs_dir / slug}")
    if not slugs and not found:
        yield Fact("(labs)", False, f"no labs under {labs_dir}")
