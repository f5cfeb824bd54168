"""Prometheus alert rules and the Grafana dashboard in deploy/.

promtool (Debian's prometheus package; ./sf setup installs it) checks the rules and the
Prometheus configuration and runs the rules' unit tests (deploy/prometheus/*.test.yml:
each alert fires on a bad series and stays quiet on a good one). Every metric the rules
and the dashboard query must be one the platform exports (platform/skillforge/metrics.py),
so a renamed metric breaks this test instead of an alert silently never firing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "skillforge.json"
RULE_FILES = sorted(PROMETHEUS.glob("*.rules.yml"))
TEST_FILES = sorted(PROMETHEUS.glob("*.test.yml"))
REQUIRED = {"SkillforgeQueueBacklog", "SkillforgeGradingErrorRate", "SkillforgeGradingSlow"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("promtool is not installed (Debian package prometheus; REQUIRE_SERVICES=1)")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return path


def promtool_run(promtool: str, *args: str) -> str:
    done = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=PROMETHEUS, timeout=120)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def alerts() -> dict[str, dict]:
    rules = [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
    return {rule["alert"]: rule for rule in rules if "alert" in rule}


def test_rules_check(promtool):
    assert RULE_FILES and TEST_FILES
    out = promtool_run(promtool, "check", "rules", *(p.name for p in RULE_FILES))
    assert "SUCCESS" in out


def test_rules_unit_tests(promtool):
    out = promtool_run(promtool, "test", "rules", *(p.name for p in TEST_FILES))
    assert "SUCCESS" in out and "FAILED" not in out


def test_prometheus_config_check(promtool):
    # --syntax-only: the token file the config names exists only in a running deployment.
    promtool_run(promtool, "check", "config", "--syntax-only", "prometheus.yml")
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert sorted(config["rule_files"]) == sorted(p.name for p in RULE_FILES)


def test_the_issue_s_alerts_exist_and_each_alert_has_a_firing_test():
    found = alerts()
    assert REQUIRED <= set(found)
    tests = [case for path in TEST_FILES for group in yaml.safe_load(path.read_text())["tests"]
             for case in group.get("alert_rule_test", [])]
    for name in found:
        cases = [case for case in tests if case["alertname"] == name]
        assert any(case["exp_alerts"] for case in cases), f"{name}: no test where it fires"
        assert any(not case["exp_alerts"] for case in cases), f"{name}: no test where it stays quiet"
    for name, rule in found.items():
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"], name


def exported_series() -> set[str]:
    """Every series name the platform exports: histograms add _bucket/_count/_sum, counters _total."""
    source = (REPO / "platform" / "skillforge" / "metrics.py").read_text()
    names = set(re.findall(r'"(skillforge_[a-z_]+)"', source))
    series = set()
    for name in names:
        series |= {name, f"{name}_bucket", f"{name}_count", f"{name}_sum", f"{name.removesuffix('_total')}_total"}
    return series


def queried(expr: str) -> set[str]:
    return set(re.findall(r"\b(skillforge_[a-z_]+)", expr))


def test_rules_query_only_exported_metrics():
    series = exported_series()
    assert {"skillforge_attempts", "skillforge_grades_total", "skillforge_grading_duration_seconds_bucket"} <= series
    for name, rule in alerts().items():
        unknown = queried(rule["expr"]) - series
        assert not unknown, f"{name} queries {unknown}, which the platform does not export"


def dashboard_panels() -> list[dict]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def test_dashboard_is_importable_grafana_json():
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "skillforge-overview" and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    provisioned = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert board["templating"]["list"][0]["current"]["value"] == provisioned["datasources"][0]["uid"]
    for panel in dashboard_panels():
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
        assert 0 <= panel["gridPos"]["x"] and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]


def test_dashboard_queries_only_exported_metrics_and_covers_them():
    series = exported_series()
    used: set[str] = set()
    for panel in dashboard_panels():
        for target in panel["targets"]:
            unknown = queried(target["expr"]) - series
            assert not unknown, f"panel {panel['title']!r} queries {unknown}"
            used |= queried(target["expr"])
    families = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}
    source = (REPO / "platform" / "skillforge" / "metrics.py").read_text()
    for name in set(re.findall(r'"(skillforge_[a-z_]+)"', source)):
        assert name in families, f"the dashboard shows nothing of {name}"
