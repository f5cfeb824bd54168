"""Drafts (save, load, discard) and a learner's progress across the labs.

    save_draft(learner=, lab=, files=)   -> Draft, or DraftRejected with a message to show
    draft_texts(learner=, lab=)          -> (the texts to put in the editor, the Draft or None)
    progress(learner=)                   -> Progress: per lab best score, passed, attempts, next steps
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Max
from django.urls import reverse

from catalog.models import Lab

from .models import Draft


class DraftRejected(ValueError):
    """The draft was not saved; the message says why (the text stays in the learner's editor)."""


def save_draft(*, learner: Any, lab: Lab, files: Mapping[str, str]) -> Draft:
    """Keep the editable files as typed. Only the lab's editable files, within its size limits."""
    version = lab.current_version
    allowed = set(version.editable_texts())
    limits = version.load_spec().submission
    kept: dict[str, str] = {}
    total = 0
    for name, text in files.items():
        if name not in allowed:
            raise DraftRejected(f"{name!r} is not one of this lab's editable files.")
        if not isinstance(text, str) or "\x00" in text:
            raise DraftRejected(f"{name} is not text.")
        text = text.replace("\r\n", "\n")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_file_bytes:
            raise DraftRejected(f"{name} is {size:,} bytes; a file may have at most {limits.max_file_bytes:,}.")
        total += size
        kept[name] = text
    if total > limits.max_bytes:
        raise DraftRejected(f"The files add up to {total:,} bytes; the lab takes at most {limits.max_bytes:,}.")
    draft, _ = Draft.objects.update_or_create(
        learner=learner, lab=lab, defaults={"files": kept, "size": total, "lab_version": version})
    return draft


def draft_texts(*, learner: Any, lab: Lab) -> tuple[dict[str, str], Draft | None]:
    """The editable files to show: the starter's, with the learner's draft on top."""
    texts = lab.current_version.editable_texts()
    draft = Draft.objects.filter(learner=learner, lab=lab).first() if learner.is_authenticated else None
    if draft is not None:
        for name, text in draft.files.items():
            if name in texts and isinstance(text, str):
                texts[name] = text
    return texts, draft


def discard_draft(*, learner: Any, lab: Lab) -> bool:
    return Draft.objects.filter(learner=learner, lab=lab).delete()[0] > 0


# --- progress ------------------------------------------------------------------------------------


@dataclass
class LabProgress:
    lab: Lab
    best_score: float | None = None
    passed: bool = False
    attempts: int = 0
    last_at: datetime | None = None
    failing: list[str] = field(default_factory=list)  # check names failing in the latest graded attempt
    in_flight: bool = False
    draft_at: datetime | None = None
    credential: Any = None

    @property
    def pass_bar(self) -> float:
        return self.lab.current_version.pass_bar

    @property
    def percent(self) -> int:
        """How far to the bar: 100 when passed."""
        if self.passed:
            return 100
        if not self.best_score:
            return 0
        return min(99, int(round(100 * self.best_score / self.pass_bar)))

    @property
    def unsubmitted_draft(self) -> bool:
        """A draft edited since the last graded attempt (a submit also saves the draft, a moment before)."""
        if self.draft_at is None:
            return False
        return self.last_at is None or (self.draft_at - self.last_at).total_seconds() > 60

    @property
    def state(self) -> str:
        if self.passed:
            return "passed"
        if self.attempts or self.in_flight:
            return "in progress"
        if self.draft_at:
            return "draft"
        return "not started"


@dataclass
class Step:
    text: str
    url: str
    action: str


@dataclass
class Progress:
    labs: list[LabProgress]
    steps: list[Step]
    credentials: list[Any]

    @property
    def passed(self) -> int:
        return sum(1 for p in self.labs if p.passed)

    @property
    def percent(self) -> int:
        return int(round(100 * self.passed / len(self.labs))) if self.labs else 0


def progress(*, learner: Any) -> Progress:
    from credentials.models import Credential
    from portfolios.models import Portfolio
    from submissions.models import Attempt

    labs = list(Lab.objects.filter(current_version__isnull=False).select_related("current_version"))
    by_lab = {lab.pk: LabProgress(lab=lab) for lab in labs}
    mine = Attempt.objects.filter(submission__learner=learner)
    for row in (mine.filter(status=Attempt.Status.GRADED).values("submission__lab_version__lab")
                .annotate(best=Max("score"), n=Count("id"), last=Max("finished_at"))):
        entry = by_lab.get(row["submission__lab_version__lab"])
        if entry is not None:
            entry.best_score, entry.attempts, entry.last_at = row["best"], row["n"], row["last"]
    for lab_id in mine.filter(status=Attempt.Status.GRADED, passed=True).values_list(
            "submission__lab_version__lab", flat=True).distinct():
        if lab_id in by_lab:
            by_lab[lab_id].passed = True
    for lab_id in mine.filter(status__in=[Attempt.Status.QUEUED, Attempt.Status.RUNNING]).values_list(
            "submission__lab_version__lab", flat=True):
        if lab_id in by_lab:
            by_lab[lab_id].in_flight = True
    seen: set[int] = set()
    latest = (mine.filter(status=Attempt.Status.GRADED).order_by("-finished_at")
              .values_list("submission__lab_version__lab", "report")[:200])
    for lab_id, report in latest:
        if lab_id in seen or lab_id not in by_lab:
            continue
        seen.add(lab_id)
        checks = (report or {}).get("checks", [])
        by_lab[lab_id].failing = [c.get("name", c.get("id", "?")) for c in checks if c.get("status") != "pass"]
    for draft in Draft.objects.filter(learner=learner).only("lab_id", "updated_at"):
        if draft.lab_id in by_lab:
            by_lab[draft.lab_id].draft_at = draft.updated_at
    credentials = list(Credential.objects.filter(learner=learner, revoked_at__isnull=True)
                       .select_related("lab_version__lab").order_by("-issued_at"))
    for credential in credentials:
        entry = by_lab.get(credential.lab_version.lab_id)
        if entry is not None and (entry.credential is None or credential.score > entry.credential.score):
            entry.credential = credential
    rows = [by_lab[lab.pk] for lab in labs]
    portfolio = Portfolio.objects.filter(user=learner).first()
    return Progress(labs=rows, steps=next_steps(rows, portfolio_public=bool(portfolio and portfolio.public)),
                    credentials=credentials)


def next_steps(rows: list[LabProgress], *, portfolio_public: bool, limit: int = 3) -> list[Step]:
    """What to do next, most useful first: finish what is started, then publish, then start a new lab."""
    steps: list[Step] = []
    started = sorted((p for p in rows if not p.passed and (p.attempts or p.draft_at or p.in_flight)),
                     key=lambda p: -(p.last_at or p.draft_at or p.lab.updated_at).timestamp())
    for p in started:
        submit = reverse("submit", args=[p.lab.slug])
        if p.failing:
            n = len(p.failing)
            steps.append(Step(f"{p.lab.title}: {n} check{'s' if n != 1 else ''} still failing "
                              f"({', '.join(p.failing[:2])}{'…' if n > 2 else ''}).", submit, "Keep going"))
        elif p.in_flight:
            steps.append(Step(f"{p.lab.title}: your submission is being graded.", submit, "Open"))
        elif p.unsubmitted_draft:
            steps.append(Step(f"{p.lab.title}: you have a draft you have not submitted.", submit, "Continue"))
    if any(p.passed for p in rows) and not portfolio_public:
        steps.append(Step("Publish your portfolio so others can see and verify your credentials.",
                          reverse("portfolio_settings"), "Publish"))
    for p in rows:
        if p.state == "not started":
            steps.append(Step(f"Start {p.lab.title}.", reverse("lab_detail", args=[p.lab.slug]), "Start"))
            break
    return steps[:limit]
