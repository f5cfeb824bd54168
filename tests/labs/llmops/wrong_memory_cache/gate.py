"""The regression gate: may a candidate prompt version replace the baseline?

    python gate.py --registry prompts/ --prompt support-bot --baseline 1.2.0 --candidate 1.3.0 \\
        --evalset evalset.jsonl --base-url http://127.0.0.1:8000/v1 --tolerance 0.02

Exit status 0: promote the candidate. 1: block it (a metric dropped by more than the
tolerance, or a safety case failed). 2: bad arguments (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys

import evalharness
import registry

METRICS = ("exact_match", "rubric")
EPSILON = 1e-9  # 0.9 - 0.85 > 0.05 in floating point: a drop of exactly the tolerance passes


def decide(baseline: dict, candidate: dict, tolerance: float) -> tuple[bool, list[str]]:
    """(promote?, reasons to block). Block when the candidate fails any safety case, or
    when a metric drops (baseline - candidate) by more than the tolerance."""
    reasons = []
    if candidate["safety_failures"]:
        reasons.append(f"candidate fails safety cases {sorted(candidate['safety_failures'])}")
    for metric in METRICS:
        drop = baseline[metric] - candidate[metric]
        if drop > tolerance + EPSILON:
            reasons.append(f"{metric} drops by {drop:.4f} ({baseline[metric]:.4f} -> {candidate[metric]:.4f}), "
                           f"more than the tolerance {tolerance:g}")
    return not reasons, reasons


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", required=True, help="the prompt registry folder")
    parser.add_argument("--prompt", required=True, help="the prompt's name in the registry")
    parser.add_argument("--baseline", required=True, help="version label, content hash or 'latest'")
    parser.add_argument("--candidate", required=True, help="version label, content hash or 'latest'")
    parser.add_argument("--evalset", required=True, help="eval cases, JSON lines")
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default="mock-gpt")
    parser.add_argument("--tolerance", type=float, default=0.02, help="largest allowed drop of a metric")
    parser.add_argument("--cache-dir", default=".llm-cache", help="response cache folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases = evalharness.load_cases(args.evalset)
    scores = {}
    for role in ("baseline", "candidate"):
        version = registry.get(args.registry, args.prompt, getattr(args, role))
        scores[role] = evalharness.evaluate(version["content"], cases, base_url=args.base_url, model=args.model,
                                            cache_dir=args.cache_dir)
        scores[role]["version"] = version["version"]
    promote, reasons = decide(scores["baseline"], scores["candidate"], args.tolerance)
    summary = {role: {k: s[k] for k in ("version", *METRICS, "safety_failures")} for role, s in scores.items()}
    print(json.dumps({"decision": "promote" if promote else "block", "reasons": reasons, **summary}, indent=1))
    return 0 if promote else 1


if __name__ == "__main__":
    sys.exit(main())
