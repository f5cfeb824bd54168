"""Check kinds, evaluated on the host against observations the trusted driver recorded.

Thresholds and expected values live in checks/ on the host and never enter the sandbox.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .inspectors import Unavailable
from .labspec import CheckSpec
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


KINDS: dict[str, Callable[[CheckSpec, dict[str, Any], Path], CheckResult]] = {
    "compare": compare, "match": match, "points": points,
}


def evaluate(check: CheckSpec, observations: dict[str, Any], expected_dir: Path) -> CheckResult:
    return KINDS[check.kind](check, observations, expected_dir)
