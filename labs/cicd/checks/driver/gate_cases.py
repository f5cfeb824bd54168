"""The hidden eval-gate cases: model outputs built here, deterministically, from counts.

Each case is a baseline file and a candidate file (JSON Lines: id, label, prediction)
plus the gate's thresholds. The right exit code for each case is NOT here: it lives on
the host in checks/expected/gate_exit_codes.json and never enters the sandbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

LABELS = ("billing", "bug_report", "account_access", "feature_request", "cancellation")
N = 200  # examples in the eval set; every accuracy is a multiple of 0.005


@dataclass(frozen=True)
class GateCase:
    name: str
    baseline_wrong: int
    candidate_wrong: int
    max_drop: float = 0.02
    min_accuracy: float = 0.80
    missing: int = 0  # candidate outputs left out (the eval set is the baseline's ids)
    messy: bool = False  # predictions in other letter case / with whitespace, lines shuffled
    broken_line: bool = False  # one candidate line is not JSON
    duplicate: bool = False  # the candidate lists one id twice, once right and once wrong

    def args(self) -> list[str]:
        return ["--max-drop", f"{self.max_drop:g}", "--min-accuracy", f"{self.min_accuracy:g}"]


CASES = (
    GateCase("candidate improves", baseline_wrong=30, candidate_wrong=20),
    GateCase("candidate regresses", baseline_wrong=20, candidate_wrong=29),
    GateCase("small drop within the tolerance", baseline_wrong=20, candidate_wrong=23),
    GateCase("drop of exactly the tolerance", baseline_wrong=20, candidate_wrong=24),
    GateCase("within the tolerance but under the floor", baseline_wrong=38, candidate_wrong=41),
    GateCase("candidate left outputs out", baseline_wrong=20, candidate_wrong=10, missing=15),
    GateCase("wider tolerance given", baseline_wrong=20, candidate_wrong=28, max_drop=0.05),
    GateCase("lower floor given", baseline_wrong=56, candidate_wrong=59, min_accuracy=0.70),
    GateCase("messy predictions, shuffled lines", baseline_wrong=20, candidate_wrong=21, messy=True),
    GateCase("a candidate line is not JSON", baseline_wrong=20, candidate_wrong=20, broken_line=True),
    GateCase("an id appears twice", baseline_wrong=20, candidate_wrong=20, duplicate=True),
)


def _spread(k: int, step: int) -> set[int]:
    """k indices spread over the eval set (step is coprime with N, so this is a permutation)."""
    return set(sorted(range(N), key=lambda i: (i * step) % N)[:k])


def _record(i: int, wrong: bool, messy: bool = False) -> dict[str, str]:
    label = LABELS[i % len(LABELS)]
    prediction = LABELS[(i + 1 + i // 7) % len(LABELS)] if wrong else label
    if prediction == label and wrong:
        prediction = LABELS[(i + 2) % len(LABELS)]
    if messy:
        prediction = (prediction.upper() if i % 3 == 0 else prediction.title()) + (" \n" if i % 2 else "")
    return {"id": f"ex-{i:04d}", "label": label, "prediction": prediction}


def build(case: GateCase) -> tuple[str, str]:
    """(baseline text, candidate text) for one case."""
    baseline = [_record(i, i in _spread(case.baseline_wrong, 37)) for i in range(N)]
    missing = _spread(case.missing, 53)
    present = [i for i in range(N) if i not in missing]
    wrong_present = set(sorted(present, key=lambda i: (i * 71) % N)[:case.candidate_wrong])
    candidate = [_record(i, i in wrong_present, case.messy) for i in present]
    if case.messy:
        candidate = [candidate[(i * 89) % len(candidate)] for i in range(len(candidate))]
    lines = [json.dumps(r) for r in candidate]
    if case.duplicate:
        again = dict(candidate[40])
        again["prediction"] = LABELS[(LABELS.index(again["label"]) + 1) % len(LABELS)]
        lines.insert(120, json.dumps(again))
    if case.broken_line:
        lines[57] = lines[57][: len(lines[57]) // 2]
    return "\n".join(json.dumps(r) for r in baseline) + "\n", "\n".join(lines) + "\n"


def accuracy_of(text: str, ids: list[str]) -> float:
    """Reference accuracy (for the lab's own tests): missing ids count as wrong."""
    recs = {r["id"]: r for r in map(json.loads, text.splitlines())}
    good = sum(1 for i in ids if i in recs and recs[i]["prediction"].strip().lower() == recs[i]["label"])
    return good / len(ids)
