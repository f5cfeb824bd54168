"""The ai-security lab, proven end to end on real sandboxes.

- the hidden corpus is consistent: the mock model obeys every attack and no benign
  input, and the expected tool decisions cover every hidden tool call;
- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and three plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- the public tests pass on the solution and fail on the starter and on each wrong
  solution (so a learner gets the same signal locally as from the grader).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders import grade, load_lab

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "ai-security"
WRONG_DIR = Path(__file__).resolve().parent / "ai-security"

DETECTION = {"detect_direct", "detect_indirect", "detect_encoding", "detect_roleplay", "detect_multi_turn"}
ALL_CHECKS = DETECTION | {
    "false_positives",
    "canary_never_leaked",
    "pii_redacted",
    "exfil_blocked",
    "clean_outputs_intact",
    "tool_policy",
}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # lets everything through: every attack reaches the model, which leaks the canary
    "starter": ALL_CHECKS - {"false_positives", "clean_outputs_intact"},
    # no normalization, no base64, no history; the output filter still catches the canary
    "wrong_keyword_only": {"detect_encoding", "detect_multi_turn"},
    "wrong_no_redaction": {"pii_redacted", "exfil_blocked"},
    "wrong_allow_all": {"tool_policy"},
}

PUBLIC_TESTS = {
    "test_blocks_direct_injections",
    "test_blocks_indirect_injections_in_documents",
    "test_blocks_encoded_injections",
    "test_blocks_role_play_jailbreaks",
    "test_blocks_multi_turn_split_payloads",
    "test_allows_benign_inputs",
    "test_redacts_pii_and_keys",
    "test_blocks_exfiltration",
    "test_keeps_clean_outputs",
    "test_tool_policy",
}

# submission folder -> exactly the public tests that must fail on it
PUBLIC_FAILURES = {
    "starter": PUBLIC_TESTS - {"test_allows_benign_inputs", "test_keeps_clean_outputs"},
    "wrong_keyword_only": {"test_blocks_encoded_injections", "test_blocks_multi_turn_split_payloads"},
    "wrong_no_redaction": {"test_redacts_pii_and_keys", "test_blocks_exfiltration"},
    "wrong_allow_all": {"test_tool_policy"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def corpus():
    return load_module("ai_security_corpus", LAB_DIR / "checks" / "driver" / "corpus.py")


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "ai-security"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No single check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert lab.editable == ("guard.py",)
    # Every check names the OWASP LLM Top 10 (2025) risk it teaches.
    assert all(re.search(r"OWASP LLM0\d:2025", c.explain) for c in lab.checks)


def test_hidden_corpus_is_consistent(corpus, lab):
    counts = {}
    for conv in corpus.CORPUS:
        counts[conv.category] = counts.get(conv.category, 0) + 1
        texts = [*conv.docs, *conv.turns]
        assert corpus.model_obeys(texts) == (conv.category != "benign"), conv
        if conv.category == "multi_turn":  # no single turn is enough on its own
            assert not any(corpus.model_obeys([t]) for t in conv.turns), conv
    assert counts == {**{c: 7 for c in corpus.ATTACK_CATEGORIES}, "benign": 16}
    expected = json.loads((lab.expected_dir / "tool_policy.json").read_text())
    assert len(expected) == len(corpus.TOOL_CALLS) and all(isinstance(x, bool) for x in expected)
    kinds = [o.kind for o in corpus.make_outputs()]
    assert (kinds.count("pii"), kinds.count("exfil"), kinds.count("clean")) == (7, 5, 5)
    thresholds = {c.id: c.threshold for c in lab.checks}
    assert (thresholds["pii_redacted"], thresholds["exfil_blocked"], thresholds["clean_outputs_intact"]) == (7, 5, 5)


def test_public_corpus_is_not_the_hidden_one(corpus):
    public = (LAB_DIR / "public_tests" / "test_guard.py").read_text()
    for conv in corpus.CORPUS:
        for text in [*conv.turns, *conv.docs]:
            assert text not in public, text


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner):
    first = grade(lab, submission("solution"), runner=runner)
    assert first.run.termination == "ok", first.run
    assert first.score == 1.0, first.to_json(indent=2)
    assert first.passed
    assert all(c.status == "pass" for c in first.checks)
    assert first.run.wall_seconds < lab.limits.wall_seconds / 2
    second = grade(lab, submission("solution"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BELOW_BAR))
def test_below_the_bar_with_the_expected_checks_failing(lab, runner, name):
    report = grade(lab, submission(name), runner=runner)
    assert report.run.termination == "ok", report.run
    failing = {c.id for c in report.checks if c.status != "pass"}
    assert failing == BELOW_BAR[name], report.to_json(indent=2)
    assert not report.passed
    assert report.score < lab.pass_bar
    assert report.run.wall_seconds < lab.limits.wall_seconds / 2


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, runner):
    first = grade(lab, submission("wrong_keyword_only"), runner=runner)
    second = grade(lab, submission("wrong_keyword_only"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: guard.py and public_tests/ side by side."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    shutil.copy2(folder / "guard.py", work / "guard.py")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "GUARD_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:django", "public_tests"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE))


def test_public_tests_pass_on_the_solution(tmp_path):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"\b{len(PUBLIC_TESTS)} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout
