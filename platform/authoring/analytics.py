"""Per-lab analytics over every version: who submits, who passes, where learners fail.

All numbers come from the submissions and attempts as stored (and grade overrides, which
are in force where present); `tables()` is what the page shows and the CSV downloads hold.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from catalog.models import Lab
from submissions.models import Attempt, Submission

from .overrides import effective_many

TABLES = ("summary", "daily", "checks", "attempts_to_pass", "time_to_pass", "failures", "terminations")
TIME_BUCKETS = [(3600, "< 1 h"), (86400, "1 h – 1 day"), (7 * 86400, "1 – 7 days"), (None, "> 7 days")]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass
class LabAnalytics:
    lab: Lab
    summary: list[tuple[str, Any]] = field(default_factory=list)
    daily: list[tuple[date, int, int]] = field(default_factory=list)  # day, submissions, learners
    checks: list[tuple[str, str, int, int, float]] = field(default_factory=list)  # id, name, graded, passed, rate
    attempts_to_pass: list[tuple[int, int]] = field(default_factory=list)  # attempts, learners
    time_to_pass: list[tuple[str, int]] = field(default_factory=list)  # bucket, learners
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # check, count, example message
    terminations: list[tuple[str, int]] = field(default_factory=list)

    def rows(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        heads = {
            "summary": ["measure", "value"],
            "daily": ["day", "submissions", "learners"],
            "checks": ["check_id", "check", "graded", "passed", "pass_rate"],
            "attempts_to_pass": ["attempts", "learners"],
            "time_to_pass": ["time_to_pass", "learners"],
            "failures": ["check", "count", "example_message"],
            "terminations": ["termination", "attempts"],
        }
        return heads[table], list(getattr(self, table))


def _mask(message: str) -> str:
    return re.sub(r"\d+(\.\d+)?", "#", message)


def compute(lab: Lab) -> LabAnalytics:
    out = LabAnalytics(lab)
    submissions = list(Submission.objects.filter(lab_version__lab=lab).values(
        "id", "learner_id", "created_at", "status").order_by("created_at"))
    attempts = list(Attempt.objects.filter(submission__lab_version__lab=lab).values(
        "id", "submission_id", "status", "passed", "score", "started_at", "finished_at", "report", "queued_at")
        .order_by("queued_at", "id"))
    overrides = effective_many([a["id"] for a in attempts])
    latest: dict[Any, dict[str, Any]] = {}
    for a in attempts:
        latest[a["submission_id"]] = a  # ordered by queued_at: the last one wins
        if a["id"] in overrides:
            a["passed"] = overrides[a["id"]].to_passed

    per_day: dict[date, list[Any]] = defaultdict(list)
    for s in submissions:
        per_day[s["created_at"].date()].append(s["learner_id"])
    out.daily = [(day, len(ids), len(set(ids))) for day, ids in sorted(per_day.items())]

    # Attempts and time to pass: submissions per learner up to the first passing one.
    by_learner: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in submissions:
        by_learner[s["learner_id"]].append(s)
    attempts_needed: list[int] = []
    seconds_needed: list[float] = []
    for subs in by_learner.values():
        for i, s in enumerate(subs):
            a = latest.get(s["id"])
            if a and a["status"] == Attempt.Status.GRADED and a["passed"]:
                attempts_needed.append(i + 1)
                seconds_needed.append((s["created_at"] - subs[0]["created_at"]).total_seconds())
                break
    out.attempts_to_pass = sorted(Counter(attempts_needed).items())
    buckets: Counter[str] = Counter()
    for seconds in seconds_needed:
        label = next(lbl for limit, lbl in TIME_BUCKETS if limit is None or seconds < limit)
        buckets[label] += 1
    out.time_to_pass = [(label, buckets[label]) for _, label in TIME_BUCKETS]

    graded = [a for a in latest.values() if a["status"] == Attempt.Status.GRADED and a["report"]]
    check_names: dict[str, str] = {}
    check_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    terminations: Counter[str] = Counter()
    for a in graded:
        report = a["report"]
        terminations[str(report.get("run", {}).get("termination", "unknown"))] += 1
        for c in report.get("checks", []):
            cid = str(c.get("id"))
            check_names.setdefault(cid, str(c.get("name", cid)))
            check_counts[cid][0] += 1
            if c.get("status") == "pass":
                check_counts[cid][1] += 1
            else:
                message = str(c.get("message", ""))
                failures[(check_names[cid], _mask(message))][message] += 1
    terminations["error (grading failed)"] = sum(1 for a in latest.values() if a["status"] == Attempt.Status.ERROR)
    out.terminations = [(k, v) for k, v in terminations.most_common() if v]
    out.checks = [(cid, check_names[cid], n, p, round(p / n, 4) if n else 0.0)
                  for cid, (n, p) in check_counts.items()]
    top = sorted(((sum(c.values()), name, c.most_common(1)[0][0]) for (name, _), c in failures.items()),
                 key=lambda t: (-t[0], t[1]))[:10]
    out.failures = [(name, count, example) for count, name, example in top]

    walls = [(a["finished_at"] - a["started_at"]).total_seconds() for a in attempts
             if a["started_at"] and a["finished_at"] and a["status"] in Attempt.TERMINAL]
    learners = set(by_learner)
    passed_learners = len(attempts_needed)
    graded_learners = {s["learner_id"] for s in submissions if s["id"] in latest
                       and latest[s["id"]]["status"] == Attempt.Status.GRADED}
    p50, p95 = percentile(walls, 50), percentile(walls, 95)
    out.summary = [
        ("submissions", len(submissions)),
        ("rejected submissions", sum(1 for s in submissions if s["status"] == Submission.Status.REJECTED)),
        ("learners", len(learners)),
        ("learners who passed", passed_learners),
        ("pass rate (learners)", round(passed_learners / len(graded_learners), 4) if graded_learners else ""),
        ("pass rate (graded submissions)",
         round(sum(1 for a in graded if a["passed"]) / len(graded), 4) if graded else ""),
        ("median attempts to pass", percentile([float(n) for n in attempts_needed], 50) or ""),
        ("median time to pass (hours)",
         round((percentile(seconds_needed, 50) or 0) / 3600, 2) if seconds_needed else ""),
        ("grading wall time p50 (s)", round(p50, 3) if p50 is not None else ""),
        ("grading wall time p95 (s)", round(p95, 3) if p95 is not None else ""),
    ]
    return out


def as_csv(data: LabAnalytics, table: str) -> str:
    heads, rows = data.rows(table)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(heads)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # never a formula when opened in a spreadsheet (messages quote learner output)
    return value
