"""graders/ without a sandbox: lab specs, intake, check kinds and the report."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import jsonschema
import pytest

from graders import LabSpecError, SubmissionLimits, SubmissionRejected, accept_files, accept_zip, load_lab
from graders.checks import evaluate
from graders.hashing import tree_hash
from graders.inspectors import INSPECTORS, Unavailable
from graders.labspec import CheckSpec
from graders.pipeline import GradingError, assemble, host_observations
from graders.pipeline import evaluate as evaluate_all
from graders.report import validate
from sandbox import RunResult, Termination

LAB_TOML = """
slug = "tiny"
title = "Tiny"
summary = "A tiny lab"
version = "1"
pass_bar = 0.5
[limits]
wall_seconds = 5
memory_mb = 128
[driver]
command = ["python3", "/grader/driver.py"]
"""
CHECKS_TOML = """
[[check]]
id = "count"
name = "Counts to three"
weight = 1
observe = "count"
op = ">="
threshold = 3
unit = "items"
explain = "Count higher."

[[check]]
id = "answers"
name = "Answers match"
weight = 3
kind = "match"
observe = "answers"
expected = "answers.json"
"""


def make_lab(root: Path, lab_toml: str = LAB_TOML, checks_toml: str = CHECKS_TOML) -> Path:
    for folder in ("starter", "solution", "checks/driver", "checks/expected"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "lab.toml").write_text(lab_toml)
    (root / "brief.md").write_text("# Tiny\n")
    (root / "checks/checks.toml").write_text(checks_toml)
    (root / "checks/expected/answers.json").write_text("[1, 2, 3, 4]")
    (root / "checks/driver/driver.py").write_text("")
    return root


def test_load_lab_reads_everything(tmp_path):
    lab = load_lab(make_lab(tmp_path))
    assert lab.slug == "tiny" and lab.pass_bar == 0.5
    assert lab.limits.wall_seconds == 5 and lab.limits.memory_bytes == 128 * 2**20
    assert [c.id for c in lab.checks] == ["count", "answers"]
    assert lab.content_hash.startswith("sha256:")


@pytest.mark.parametrize(
    ("lab_toml", "key", "problem"),
    [
        (LAB_TOML.replace('slug = "tiny"', ""), "slug", "is required"),
        (LAB_TOML.replace("pass_bar = 0.5", "pass_bar = 7"), "pass_bar", "must be in (0, 1]"),
        (LAB_TOML.replace("wall_seconds = 5", 'wall_seconds = "5"'), "limits.wall_seconds", "must be an integer or a number"),
        (LAB_TOML.replace("memory_mb = 128", "memory_mb = -1"), "limits.memory_mb", "greater than 0"),
        ("colour = 'red'\n" + LAB_TOML, "colour", "not a known key"),
        (LAB_TOML.replace("[driver]", "[driver"), "(syntax)", ""),
    ],
)
def test_malformed_lab_toml_names_file_key_and_problem(tmp_path, lab_toml, key, problem):
    make_lab(tmp_path, lab_toml=lab_toml)
    with pytest.raises(LabSpecError) as err:
        load_lab(tmp_path)
    assert err.value.file == tmp_path / "lab.toml"
    assert err.value.key == key
    assert problem in err.value.problem


def test_malformed_checks_toml(tmp_path):
    make_lab(tmp_path, checks_toml=CHECKS_TOML.replace("threshold = 3\n", ""))
    with pytest.raises(LabSpecError, match=r"checks.toml: check\[0\].threshold: is required"):
        load_lab(tmp_path)


def test_limits_above_the_ceiling_are_capped(tmp_path):
    make_lab(tmp_path, lab_toml=LAB_TOML.replace("wall_seconds = 5", "wall_seconds = 99999"))
    assert load_lab(tmp_path).limits.wall_seconds == 600


def test_content_hash_changes_with_content(tmp_path):
    make_lab(tmp_path)
    first = tree_hash(tmp_path)
    assert tree_hash(tmp_path) == first
    (tmp_path / "brief.md").write_text("# Tiny, edited\n")
    assert tree_hash(tmp_path) != first


# -- intake -------------------------------------------------------------------------

LIMITS = SubmissionLimits(max_files=5, max_bytes=10_000, max_file_bytes=4_000, max_upload_bytes=20_000)


def zip_of(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_zip_is_unpacked_and_a_single_top_folder_stripped(tmp_path):
    accept_zip(zip_of({"mywork/fetcher.py": b"x = 1\n", "mywork/pkg/util.py": b""}), tmp_path, LIMITS)
    assert (tmp_path / "fetcher.py").read_text() == "x = 1\n"
    assert (tmp_path / "pkg/util.py").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not a zip", "not a valid zip"),
        (zip_of({"../evil.py": b"x"}), "outside the submission folder"),
        (zip_of({"/etc/evil.py": b"x"}), "absolute path"),
        (zip_of({"a.py": b"x"}, symlink="link.py"), "symbolic link"),
        (zip_of({f"f{i}.py": b"x" for i in range(6)}), "the limit is 5"),
        (zip_of({"big.py": b"x" * 5000}), "more than the limit"),
        (zip_of({"a.py": b"caf\xe9 = 1\n"}), "not UTF-8"),
        (b"PK" + b"\0" * 30_000, "upload is 30002 bytes"),
    ],
)
def test_bad_zips_are_rejected_with_a_message(tmp_path, data, message):
    with pytest.raises(SubmissionRejected, match=message):
        accept_zip(data, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists(), "nothing is written for a rejected zip"
    assert not (tmp_path.parent / "evil.py").exists()


def test_zip_bomb_declared_small_reads_at_most_the_cap(tmp_path):
    bomb = zip_of({"bomb.txt": b"0" * 3_900_000})
    with pytest.raises(SubmissionRejected):
        accept_zip(bomb, tmp_path, LIMITS)


def test_files_from_the_editor(tmp_path):
    accept_files({"fetcher.py": "print('hi')\n"}, tmp_path, LIMITS)
    assert (tmp_path / "fetcher.py").read_text() == "print('hi')\n"
    with pytest.raises(SubmissionRejected, match="outside"):
        accept_files({"../x.py": ""}, tmp_path / "b", LIMITS)


# -- checks and the report ----------------------------------------------------------


def test_compare_messages_show_observed_and_threshold(tmp_path):
    check = CheckSpec(id="c", name="C", weight=2, kind="compare", observe="n", op="<=", threshold=5,
                      unit="requests", explain="Use a semaphore.")
    ok = evaluate(check, {"n": 5}, tmp_path)
    bad = evaluate(check, {"n": 20}, tmp_path)
    missing = evaluate(check, {}, tmp_path)
    assert (ok.status, ok.points) == ("pass", 2)
    assert (bad.status, bad.points) == ("fail", 0)
    assert bad.message == "Observed 20 requests, needs at most 5 requests. Use a semaphore."
    assert missing.status == "error"


def _result(termination: Termination = Termination.OK) -> RunResult:
    return RunResult(termination, 0, b"", b"", {}, {}, 1.234567, 0.5, 1000, "bubblewrap", "sha256:x")


def test_report_is_deterministic_and_valid(tmp_path):
    lab = load_lab(make_lab(tmp_path / "lab"))
    doc = {"observations": {"count": 3, "answers": [1, 2, 0, 4]}, "learner": {"exit_code": 0, "termination": "ok", "log": ""}}
    results, summary = evaluate_all(lab, _result(), doc)
    one = assemble(lab, "sha256:" + "0" * 64, results, summary, _result(), doc)
    two = assemble(lab, "sha256:" + "0" * 64, results, summary, _result(Termination.OK), doc)
    assert one.canonical_bytes() == two.canonical_bytes()
    assert one.score == 0.25 and one.passed is False  # count passes (1 of 4), answers 3/4 fails
    validate(one.to_dict())
    with pytest.raises(jsonschema.ValidationError):
        validate({**one.to_dict(), "score": 2})


def test_a_timeout_fails_every_check_with_a_plain_message(tmp_path):
    lab = load_lab(make_lab(tmp_path / "lab"))
    results, summary = evaluate_all(lab, _result(Termination.TIMEOUT), None)
    assert {r.status for r in results} == {"error"}
    assert "ran past the time limit (5 s wall" in summary
    report = assemble(lab, "sha256:" + "0" * 64, results, summary, _result(Termination.TIMEOUT), None)
    assert report.score == 0 and json.loads(report.to_json())["run"]["termination"] == "timeout"


# -- host inspectors ----------------------------------------------------------------


def counting_inspector(submission: Path, lab) -> dict:
    """A test inspector: counts the submission's files, as data."""
    if lab.inspector_options.get("explode"):
        raise ValueError("bad option")
    files = sum(1 for p in submission.rglob("*") if p.is_file())
    return {"count": files, "answers": Unavailable("needs Docker: no engine answers on this grader")}


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(INSPECTORS, "counting", f"{__name__}:counting_inspector")


def test_a_lab_names_only_a_registered_inspector(tmp_path, registered):
    lab = load_lab(make_lab(tmp_path / "a", LAB_TOML + '[host]\ninspect = "counting"\n[host.options]\nk = 1\n'))
    assert (lab.inspector, lab.inspector_options) == ("counting", {"k": 1})
    with pytest.raises(LabSpecError, match=r"host\.inspect: must be one of .*counting.*, got 'rm-rf'"):
        load_lab(make_lab(tmp_path / "b", LAB_TOML + '[host]\ninspect = "rm-rf"\n'))


def test_host_observations_merge_and_unavailable_shows_its_reason(tmp_path, registered):
    lab = load_lab(make_lab(tmp_path / "lab", LAB_TOML + '[host]\ninspect = "counting"\n'))
    sub = tmp_path / "sub"
    sub.mkdir()
    for name in "abc":
        (sub / name).write_text(name)
    host = host_observations(lab, sub)
    results, _ = evaluate_all(lab, _result(), {"observations": {}}, host)
    by_id = {r.id: r for r in results}
    assert (by_id["count"].status, by_id["count"].observed) == ("pass", 3)
    assert by_id["answers"].status == "error"
    assert by_id["answers"].message == "needs Docker: no engine answers on this grader"
    with pytest.raises(GradingError, match="both observed 'count'"):
        evaluate_all(lab, _result(), {"observations": {"count": 1}}, host)


def test_a_failing_inspector_is_a_grading_error_not_the_learners(tmp_path, registered):
    lab = load_lab(make_lab(tmp_path / "lab", LAB_TOML + '[host]\ninspect = "counting"\n[host.options]\nexplode = true\n'))
    with pytest.raises(GradingError, match=r"inspector 'counting' failed: ValueError: bad option\. This is not your fault"):
        host_observations(lab, tmp_path)
