"""The promtool host inspector: validates a learner's Prometheus rules and runs a lab's
hidden rule tests with promtool, reading the submission as data.

Tests that run the real promtool (Debian package prometheus) skip without it, or fail
when REQUIRE_DOCKER=1 (CI installs it); the others use a stand-in or none at all.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from graders import load_lab
from graders.inspectors import INSPECTORS, Unavailable
from graders.inspectors import promtool as inspector
from graders.pipeline import GradingError, host_observations

RULES = """\
groups:
  - name: demo
    rules:
      - alert: HighErrors
        expr: sum(rate(errors_total[5m])) > 1
        for: 5m
        labels:
          severity: page
          team: llm
        annotations:
          summary: "errors are high: {{ $value }}"
"""

# Fires after `for: 5m` with exactly {severity: page}: passes only on the tested copy
# (team dropped, annotations dropped).
FIRES = """\
rule_files: [whatever.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'errors_total'
        values: '0+120x30'
    alert_rule_test:
      - eval_time: 3m
        alertname: HighErrors
        exp_alerts: []
      - eval_time: 20m
        alertname: HighErrors
        exp_alerts:
          - exp_labels: {severity: page}
"""

QUIET = """\
rule_files: [whatever.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'errors_total'
        values: '0+120x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: HighErrors
        exp_alerts: []
"""

LAB_TOML = """\
slug = "promdemo"
title = "t"
summary = "s"
version = "1.0.0"
[driver]
command = ["python3", "/grader/driver.py"]
[host]
inspect = "promtool"
[host.options]
{options}
"""


def make_lab(root: Path, options: str = 'rules = "alerts.yml"\ntests = ["promtool/fires.yml", "promtool/quiet.yml"]\n'
             'keep_labels = ["severity"]\nignore_annotations = true\n'):
    for folder in ("starter", "solution", "checks/driver", "checks/promtool"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "brief.md").write_text("# t\n")
    (root / "lab.toml").write_text(LAB_TOML.format(options=options))
    (root / "checks" / "checks.toml").write_text(
        '[[check]]\nid = "valid"\nname = "n"\nobserve = "rules_check"\nop = "=="\nthreshold = "ok"\n')
    (root / "checks" / "promtool" / "fires.yml").write_text(FIRES)
    (root / "checks" / "promtool" / "quiet.yml").write_text(QUIET)
    return load_lab(root)


def submit(root: Path, rules: str | bytes | None = RULES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(rules, str):
        (root / "alerts.yml").write_text(rules)
    elif isinstance(rules, bytes):
        (root / "alerts.yml").write_bytes(rules)
    return root


@pytest.fixture
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("promtool is not installed (apt install prometheus); REQUIRE_DOCKER=1 makes this a failure")
        pytest.skip("promtool is not installed (apt install prometheus)")
    return path


def test_registered_under_its_name():
    assert INSPECTORS["promtool"] == "graders.inspectors.promtool:inspect"


def test_missing_promtool_makes_both_observations_unavailable(tmp_path, monkeypatch):
    lab = make_lab(tmp_path / "lab")
    monkeypatch.setattr(inspector, "find_promtool", lambda: None)
    got = inspector.inspect(submit(tmp_path / "sub"), lab)
    assert set(got) == {"rules_check", "rule_tests"}
    assert all(isinstance(v, Unavailable) and v.reason.startswith("needs promtool:") for v in got.values())


def test_valid_rules_run_each_hidden_test_alone(tmp_path, promtool):
    lab = make_lab(tmp_path / "lab")
    assert inspector.inspect(submit(tmp_path / "sub"), lab) == {"rules_check": "ok", "rule_tests": [True, False]}


def test_without_narrowing_labels_and_annotations_are_compared(tmp_path, promtool):
    lab = make_lab(tmp_path / "lab", 'rules = "alerts.yml"\ntests = ["promtool/fires.yml"]\n'
                                     'check_as = "valid"\ntests_as = "scenarios"\n')
    assert inspector.inspect(submit(tmp_path / "sub"), lab) == {"valid": "ok", "scenarios": [False]}


def test_invalid_rules_are_explained_with_the_learners_file_name(tmp_path, promtool):
    lab = make_lab(tmp_path / "lab")
    bad = RULES.replace("sum(rate(errors_total[5m])) > 1", "sum(rate(errors_total[5m]) > 1").replace("5m\n", "five\n")
    got = inspector.inspect(submit(tmp_path / "sub", bad), lab)
    assert got["rule_tests"] == [False, False]
    message = got["rules_check"]
    assert message != "ok" and "alerts.yml" in message
    assert "sf-promtool-" not in message and inspector.RULES_COPY not in message
    not_yaml = inspector.inspect(submit(tmp_path / "sub2", "groups: [\n"), lab)["rules_check"]
    assert "alerts.yml" in not_yaml and "yaml" in not_yaml


@pytest.mark.parametrize(("rules", "says"), [
    (None, "alerts.yml is missing from your submission"),
    (b"groups: []\n# \xff\xfe\n", "alerts.yml is not UTF-8 text"),
    ("#" * (inspector.MAX_RULES_BYTES + 1), "alerts.yml is larger than 256 KiB"),
])
def test_unusable_files_get_a_plain_message(tmp_path, promtool, rules, says):
    lab = make_lab(tmp_path / "lab")
    assert inspector.inspect(submit(tmp_path / "sub", rules), lab) == {"rules_check": says, "rule_tests": [False, False]}


def test_a_symlinked_rules_file_is_not_followed(tmp_path, promtool):
    lab = make_lab(tmp_path / "lab")
    sub = submit(tmp_path / "sub", None)
    (sub / "alerts.yml").symlink_to(tmp_path / "lab" / "checks" / "promtool" / "fires.yml")
    assert inspector.inspect(sub, lab)["rules_check"] == "alerts.yml is missing from your submission"


def test_a_promtool_that_hangs_is_stopped(tmp_path, monkeypatch):
    fake = tmp_path / "promtool"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(inspector, "find_promtool", lambda: str(fake))
    lab = make_lab(tmp_path / "lab", 'rules = "alerts.yml"\ntests = ["promtool/fires.yml"]\ntimeout = 0.5\n')
    got = inspector.inspect(submit(tmp_path / "sub"), lab)
    assert got == {"rules_check": "promtool took longer than 0.5 s to check alerts.yml", "rule_tests": [False]}


def test_the_tested_copy_keeps_only_the_named_labels():
    copy = yaml.safe_load(inspector.tested_copy(RULES, ["severity"], True))
    rule = copy["groups"][0]["rules"][0]
    assert rule["labels"] == {"severity": "page"} and "annotations" not in rule
    assert rule["expr"] == "sum(rate(errors_total[5m])) > 1" and rule["for"] == "5m"
    assert inspector.tested_copy(RULES, None, False) == RULES
    assert inspector.tested_copy("groups: [\n", ["severity"], True) == "groups: [\n"  # promtool says why


@pytest.mark.parametrize(("options", "problem"), [
    ('rules = "../alerts.yml"', "option 'rules'"),
    ('rules = "alerts.yml"\ntests = ["/etc/passwd"]', "option 'tests'"),
    ('rules = "alerts.yml"\ntimeout = 0', "option 'timeout'"),
    ('rules = "alerts.yml"\nkeep_labels = "severity"', "option 'keep_labels'"),
    ('rules = "alerts.yml"\nrule = "x"', "unknown option 'rule'"),
    ('rules = "alerts.yml"\ntests = ["promtool/absent.yml"]', "does not exist"),
])
def test_a_lab_with_bad_options_is_a_grading_error(tmp_path, options, problem):
    lab = make_lab(tmp_path / "lab", options)
    with pytest.raises(GradingError, match="inspector 'promtool' failed: OptionError: .*" + problem):
        host_observations(lab, submit(tmp_path / "sub"))


def test_observations_merge_into_the_pipeline(tmp_path, promtool):
    lab = make_lab(tmp_path / "lab")
    assert host_observations(lab, submit(tmp_path / "sub")) == {"rules_check": "ok", "rule_tests": [True, False]}
