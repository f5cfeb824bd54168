"""Eval gate: block a candidate model whose accuracy regressed.

    python scripts/eval_gate.py --baseline eval/baseline.jsonl --candidate eval/candidate.jsonl \
        [--max-drop 0.02] [--min-accuracy 0.80]

Both files are JSON Lines, one object per eval example: {"id", "label", "prediction"}
(other keys are ignored). Exit status: 0 the candidate may ship, 1 it regressed (blocked),
2 the input is unusable (blocked too: a gate that cannot read its input must not pass).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

PASS, BLOCKED, BAD_INPUT = 0, 1, 2
SLACK = 1e-9  # accuracies are ratios of counts; never let float noise flip a decision


class BadInput(Exception):
    pass


def normalize(text: str) -> str:
    return text.strip().lower()


def load(path: str) -> dict[str, bool]:
    """id -> was the prediction right?"""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read it ({exc})") from None
    correct: dict[str, bool] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise BadInput(f"{path}:{n}: not a JSON object") from None
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("id", "label", "prediction")):
            raise BadInput(f"{path}:{n}: needs string fields id, label and prediction")
        if record["id"] in correct:
            raise BadInput(f"{path}:{n}: id {record['id']!r} appears twice")
        correct[record["id"]] = normalize(record["prediction"]) == normalize(record["label"])
    return correct


def decide(baseline: dict[str, bool], candidate: dict[str, bool], max_drop: float, min_accuracy: float) -> tuple[int, str]:
    if not baseline:
        raise BadInput("the baseline has no examples")
    ids = list(baseline)  # the eval set; a candidate output that is missing counts as wrong
    base = sum(baseline.values()) / len(ids)
    cand = sum(candidate.get(i, False) for i in ids) / len(ids)
    missing = sum(i not in candidate for i in ids)
    line = (f"baseline accuracy {base:.4f}, candidate {cand:.4f} (change {cand - base:+.4f}; "
            f"{missing} of {len(ids)} outputs missing); allowed drop {max_drop:g}, floor {min_accuracy:g}")
    reasons = []
    if cand < base - max_drop - SLACK:
        reasons.append(f"accuracy dropped by {base - cand:.4f}, more than {max_drop:g}")
    if cand < min_accuracy - SLACK:
        reasons.append(f"accuracy {cand:.4f} is under the floor {min_accuracy:g}")
    if reasons:
        return BLOCKED, f"BLOCKED: {'; '.join(reasons)}. {line}"
    return PASS, f"PASSED: {line}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the production model's outputs (JSON Lines)")
    parser.add_argument("--candidate", required=True, help="the new model's outputs (JSON Lines)")
    parser.add_argument("--max-drop", type=float, default=0.02, help="largest accuracy drop allowed")
    parser.add_argument("--min-accuracy", type=float, default=0.80, help="accuracy the candidate must reach")
    args = parser.parse_args(argv)  # a usage error exits 2 as well
    try:
        if not (0 <= args.max_drop <= 1 and 0 <= args.min_accuracy <= 1):
            raise BadInput("--max-drop and --min-accuracy must be between 0 and 1")
        code, message = decide(load(args.baseline), load(args.candidate), args.max_drop, args.min_accuracy)
    except BadInput as exc:
        print(f"eval gate: unusable input: {exc}", file=sys.stderr)
        return BAD_INPUT
    print(f"eval gate: {message}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:  # shown on the run's page in GitHub Actions
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(f"### Eval gate\n\n{message}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
