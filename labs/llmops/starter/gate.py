"""The regression gate: may a candidate prompt version replace the baseline?

    python gate.py --registry prompts/ --prompt support-bot --baseline 1.2.0 --candidate 1.3.0 \\
        --evalset evalset.jsonl --base-url http://127.0.0.1:8000/v1 --tolerance 0.02

Exit status 0: promote the candidate. 1: block it. 2: bad arguments (argparse does that).
Keep main(argv) -> int: the grader calls it in a fresh process, exactly as the command
line above does, and takes its return value as the exit status.

Your job (read brief.md): decide(), and main() wiring the registry, the eval harness and
decide() together.
"""

from __future__ import annotations

import argparse
import json  # noqa: F401  (print a report)
import sys

import evalharness  # noqa: F401
import registry  # noqa: F401

METRICS = ("exact_match", "rubric")


def decide(baseline: dict, candidate: dict, tolerance: float) -> tuple[bool, list[str]]:
    """(promote?, reasons to block), from two evaluate() results.

    TODO: block when
    - the candidate fails any safety case (whatever the baseline did), or
    - exact_match or rubric DROPS from baseline to candidate (baseline - candidate) by
      more than `tolerance`. A drop of exactly the tolerance passes: compare with a small
      slack (1e-9), because 0.9 - 0.85 > 0.05 in floating point.
    An improvement never blocks.
    """
    return True, []


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """(Complete.)"""
    parser = argparse.ArgumentParser(description="Block a prompt version that regresses.")
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
    """TODO: load both versions' content from the registry (registry.get), the cases
    (evalharness.load_cases), evaluate both with the same --model, --base-url and
    --cache-dir, decide(), print a short report (stdout), and return 0 to promote or 1
    to block."""
    args = parse_args(argv)  # noqa: F841
    raise NotImplementedError("gate.main")


if __name__ == "__main__":
    sys.exit(main())
