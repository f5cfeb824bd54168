"""Check kinds, evaluated on the host against observations the trusted driver recorded.

Thresholds and expected values live in checks/ on the host and never enter the sandbox.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .inspectors import Unavailable
from .labspec import RANKING_METRIC, CheckSpec
from .report import CheckResult

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
OP_WORDS = {"==": "exactly", "!=": "anything but", ">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


def _show(value: Any, unit: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = round(value, 3)
    return f"{value} {unit}".strip()


def _result(check: CheckSpec, ok: bool, observed: Any, threshold: Any, message: str) -> CheckResult:
    return CheckResult(
        id=check.id,
        name=check.name,
        weight=check.weight,
        points=check.weight if ok else 0.0,
        status="pass" if ok else "fail",
        message=message,
        observed=observed,
        threshold=threshold,
        op=check.op,
        unit=check.unit,
    )


def errored(check: CheckSpec, message: str) -> CheckResult:
    return CheckResult(check.id, check.name, check.weight, 0.0, "error", message, None, check.threshold, check.op, check.unit)


def compare(check: CheckSpec, observations: dict[str, Any], expected_dir: Path) -> CheckResult:
    if check.observe not in observations:
        return errored(check, f"Not observed: the grader saw no value for {check.observe!r}. {check.explain}".strip())
    observed = observations[check.observe]
    if isinstance(observed, Unavailable):
        return errored(check, observed.reason)
    try:
        ok = bool(OPS[check.op](observed, check.threshold))
    except TypeError:
        return errored(check, f"The grader observed {observed!r}, which cannot be compared with {check.threshold!r}.")
    needs = f"needs {OP_WORDS[check.op]} {_show(check.threshold, check.unit)}"
    if ok:
        message = f"Observed {_show(observed, check.unit)} ({needs})."
    else:
        message = f"Observed {_show(observed, check.unit)}, {needs}. {check.explain}".strip()
    return _result(check, ok, observed, check.threshold, message)


def match(check: CheckSpec, observations: dict[str, Any], expected_dir: Path) -> CheckResult:
    """Count items of observations[observe] equal to the expected list, element by element."""
    expected = json.loads((expected_dir / check.expected).read_text())
    got = observations.get(check.observe)
    if isinstance(got, Unavailable):
        return errored(check, got.reason)
    if not isinstance(got, list):
        return errored(check, f"Not observed: expected a list of {len(expected)} answers. {check.explain}".strip())
    matched = sum(1 for a, b in zip(got, expected, strict=False) if a == b)
    threshold = check.threshold if isinstance(check.threshold, int | float) else len(expected)
    ok = bool(OPS[check.op](matched, threshold))
    message = f"{matched} of {len(expected)} answers match (needs {OP_WORDS[check.op]} {threshold})."
    if not ok and check.explain:
        message += " " + check.explain
    return _result(check, ok, matched, threshold, message)


def points(check: CheckSpec, observations: dict[str, Any], expected_dir: Path) -> CheckResult:
    """Partial credit: observations[observe] is the points earned, 0..weight (e.g. an
    nbgrader test cell whose output is a number). null means it needs a person to grade."""
    got = observations.get(check.observe, ...)
    if isinstance(got, Unavailable):
        return errored(check, got.reason)
    if got is None:
        return errored(check, "Needs grading by a person: it is not graded automatically.")
    if got is ... or isinstance(got, bool) or not isinstance(got, int | float):
        return errored(check, f"Not observed: the grader saw no points for {check.observe!r}. {check.explain}".strip())
    earned = min(max(float(got), 0.0), check.weight)
    ok = earned >= check.weight
    message = f"Earned {earned:g} of {check.weight:g} points."
    if not ok and check.explain:
        message += " " + check.explain
    return CheckResult(check.id, check.name, check.weight, earned, "pass" if ok else "fail", message,
                       earned, check.weight, ">=", "points")


def ranking_score(metric: str, k: int, ranked: list[Any], gains: dict[str, float]) -> float:
    """One query's recall, nDCG (linear gains), MRR or precision at k. ranked: document ids,
    best first; anything but a string, and a repeat of an id already seen, is skipped."""
    top = list(dict.fromkeys(d for d in ranked if isinstance(d, str)))[:k]
    relevant = {d for d, g in gains.items() if g > 0}
    if not relevant:
        return 0.0
    if metric == "recall":
        return len(relevant.intersection(top)) / len(relevant)
    if metric == "precision":
        return len(relevant.intersection(top)) / k
    if metric == "mrr":
        return next((1.0 / (i + 1) for i, d in enumerate(top) if d in relevant), 0.0)
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top) if d in relevant)
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


def ranking(check: CheckSpec, observations: dict[str, Any], expected_dir: Path) -> CheckResult:
    """Retrieval quality computed on the host: observations[observe] maps query ids to the
    document ids the learner's system returned (best first); checks/expected/<expected> maps
    the same query ids to {document id: gain}. The observed value is the mean of the metric
    (check.metric, e.g. ndcg@10) over the expected queries, an unanswered query scoring 0."""
    qrels = json.loads((expected_dir / check.expected).read_text())
    got = observations.get(check.observe)
    if isinstance(got, Unavailable):
        return errored(check, got.reason)
    if not isinstance(got, dict):
        return errored(check, f"Not observed: the grader saw no rankings for {check.observe!r}. {check.explain}".strip())
    match_ = RANKING_METRIC.match(check.metric)
    assert match_, check.metric  # labspec validated it
    metric, k = match_.group(1), int(match_.group(2))
    total = 0.0
    for query, gains in qrels.items():  # file order: the same float sum every time
        ranked = got.get(query)
        if isinstance(ranked, list):
            total += ranking_score(metric, k, ranked, gains)
    value = round(total / len(qrels), 4) if qrels else 0.0
    ok = bool(OPS[check.op](value, check.threshold))
    message = (f"{check.metric} is {value:.3f} over {len(qrels)} queries "
               f"(needs {OP_WORDS[check.op]} {_show(check.threshold, '')}).")
    if not ok and check.explain:
        message += " " + check.explain
    return _result(check, ok, value, check.threshold, message)


KINDS: dict[str, Callable[[CheckSpec, dict[str, Any], Path], CheckResult]] = {
    "compare": compare, "match": match, "points": points, "ranking": ranking,
}


def evaluate(check: CheckSpec, observations: dict[str, Any], expected_dir: Path) -> CheckResult:
    return KINDS[check.kind](check, observations, expected_dir)
