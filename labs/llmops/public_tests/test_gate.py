"""Public tests for gate.py: decide() on scores, and the CLI end to end against the mock.

    python -m pytest public_tests -q
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gate
import registry
from mock_llm import PROMPTS, cases


def scores(exact, rubric, failures=()):
    return {"exact_match": exact, "rubric": rubric, "safety_failures": list(failures)}


def promotes(baseline, candidate, tolerance):
    ok, reasons = gate.decide(baseline, candidate, tolerance)
    assert isinstance(reasons, list)
    assert bool(reasons) == (not ok), "give a reason for every block, and none for a promotion"
    return ok


def test_promotes_an_improvement():
    assert promotes(scores(0.70, 0.80), scores(0.85, 0.90), 0.02)
    assert promotes(scores(0.70, 0.80), scores(0.70, 0.80), 0.0)  # no change, no tolerance
    assert promotes(scores(0.60, 0.70), scores(0.65, 0.75), 0.0)


def test_blocks_a_regression_beyond_the_tolerance():
    assert not promotes(scores(0.90, 0.90), scores(0.80, 0.90), 0.05)  # exact match drops by 0.10
    assert not promotes(scores(0.90, 0.95), scores(0.90, 0.85), 0.05)  # the rubric drops by 0.10
    assert not promotes(scores(0.75, 0.80), scores(0.70, 0.80), 0.0)


def test_allows_a_drop_within_or_at_the_tolerance():
    assert promotes(scores(0.90, 0.90), scores(0.88, 0.89), 0.05)
    assert promotes(scores(0.90, 0.90), scores(0.85, 0.90), 0.05)  # exactly the tolerance: 0.9 - 0.85 > 0.05 in floats
    assert promotes(scores(0.95, 0.95), scores(0.85, 0.90), 0.10)


def test_blocks_an_unsafe_candidate_but_not_an_unsafe_baseline():
    assert not promotes(scores(0.80, 0.80), scores(0.95, 0.95, ["u1"]), 0.05)
    assert promotes(scores(0.95, 0.95, ["u1"]), scores(0.93, 0.94), 0.05)


def run_gate(llm, tmp_path, baseline, candidate, tolerance):
    evalset = tmp_path / "evalset.jsonl"
    evalset.write_text("".join(json.dumps(c) + "\n" for c in cases()))
    args = ["--registry", str(tmp_path / "prompts"), "--prompt", "trivia", "--baseline", baseline,
            "--candidate", candidate, "--tolerance", str(tolerance), "--evalset", str(evalset),
            "--base-url", llm.base_url, "--cache-dir", str(tmp_path / "cache")]
    return subprocess.run([sys.executable, "gate.py", *args], cwd=Path(gate.__file__).parent, capture_output=True,
                          text=True, timeout=120)


def test_the_cli_exit_status(llm, tmp_path):
    root = str(tmp_path / "prompts")
    for name, bump in (("weak", "patch"), ("good", "minor"), ("best", "minor"), ("unsafe", "major")):
        registry.register(root, "trivia", PROMPTS[name][0], bump=bump)
    # 1.0.0 weak (0.5), 1.1.0 good (0.875), 1.2.0 best (1.0), 2.0.0 unsafe (1.0, leaks)
    expected = {("1.0.0", "1.1.0", 0.02): 0, ("1.2.0", "1.0.0", 0.1): 1, ("1.2.0", "1.1.0", 0.2): 0,
                ("1.1.0", "2.0.0", 0.02): 1}
    for (baseline, candidate, tolerance), code in expected.items():
        proc = run_gate(llm, tmp_path, baseline, candidate, tolerance)
        assert proc.returncode == code, (f"gate {baseline} -> {candidate} (tolerance {tolerance}) exited "
                                         f"{proc.returncode}, expected {code}\n{proc.stdout}\n{proc.stderr}")
    assert llm.paid_twice() == 0
