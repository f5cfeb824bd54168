"""Host inspector "promtool": validate a learner's Prometheus alerting rules and unit-test
them against hidden series with promtool (Debian package `prometheus`).

A lab names it in lab.toml:

    [host]
    inspect = "promtool"
    [host.options]
    rules = "alerts.yml"                    # the learner's rules file, in the submission
    tests = ["promtool/fires.yml", ...]     # promtool rule-test files under checks/ (host only)
    check_as = "rules_check"                # observation: "ok", or what promtool objected to
    tests_as = "rule_tests"                 # observation: one boolean per test file, in order
    keep_labels = ["severity"]              # alert labels the tests compare (default: all)
    ignore_annotations = true               # the tests do not compare annotations (default: false)
    timeout = 20                            # seconds per promtool run (default 20)

The rules file is read as data, never run: `promtool check rules` validates it (YAML,
PromQL, durations, templates), then each hidden test file runs alone with `promtool test
rules`, pointed at a copy of the learner's rules, so the lab learns which scenarios pass.
`keep_labels` and `ignore_annotations` apply to that copy only: promtool compares an
alert's labels and annotations exactly, and a test should judge when an alert fires and
how it is routed, not the wording of its summary.

Everything happens in a private temporary folder (promtool resolves `rule_files`
relative to the test file), without a shell, with a minimal environment, a timeout and
capped sizes. Where promtool is not installed both observations are
Unavailable("needs promtool: ...").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from . import Unavailable

if TYPE_CHECKING:
    from ..labspec import LabSpec

MAX_RULES_BYTES = 256 * 1024  # a rules file for a lab is a few KiB
MAX_MESSAGE = 600  # characters of promtool's complaint shown to the learner
DEFAULT_TIMEOUT = 20.0
RULES_COPY = "rules.yml"  # the learner's file, as promtool check rules sees it (names appear in messages)
TESTED_COPY = "tested-rules.yml"  # the copy the hidden tests load
MISSING = "needs promtool: it is not installed on this grader (Debian package 'prometheus')"


class OptionError(ValueError):
    """The lab's [host.options] are wrong: a lab bug, reported as a grading error."""


def find_promtool() -> str | None:
    return shutil.which("promtool")


def _options(lab: LabSpec) -> dict[str, Any]:
    opts = dict(lab.inspector_options)
    unknown = sorted(set(opts) - {"rules", "tests", "check_as", "tests_as", "keep_labels", "ignore_annotations", "timeout"})
    if unknown:
        raise OptionError(f"unknown option {unknown[0]!r} for the promtool inspector")
    rules = opts.get("rules")
    if not isinstance(rules, str) or not _relative(rules):
        raise OptionError("option 'rules' must name a file inside the submission, e.g. \"alerts.yml\"")
    tests = opts.get("tests", [])
    if not isinstance(tests, list) or not all(isinstance(t, str) and _relative(t) for t in tests):
        raise OptionError("option 'tests' must be a list of files inside the lab's checks/ folder")
    keep = opts.get("keep_labels")
    if keep is not None and not (isinstance(keep, list) and all(isinstance(k, str) for k in keep)):
        raise OptionError("option 'keep_labels' must be a list of label names")
    timeout = opts.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise OptionError("option 'timeout' must be a number of seconds in (0, 120]")
    return {
        "rules": rules,
        "tests": tests,
        "check_as": str(opts.get("check_as", "rules_check")),
        "tests_as": str(opts.get("tests_as", "rule_tests")),
        "keep_labels": keep,
        "ignore_annotations": bool(opts.get("ignore_annotations", False)),
        "timeout": float(timeout),
    }


def _relative(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _run(promtool: str, args: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """promtool's exit status (None on timeout) and its output, stdout then stderr."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    try:
        proc = subprocess.run([promtool, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, ""
    out = (proc.stdout[-65536:] + b"\n" + proc.stderr[-65536:]).decode("utf-8", "replace")
    return proc.returncode, out


def complaint(output: str, name: str) -> str:
    """promtool check rules' objections as one line, with our copy's name put back."""
    seen: list[str] = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line or line.startswith(("Checking ", "SUCCESS")) or line == "FAILED:":
            continue
        line = line.replace(RULES_COPY, name)
        if line not in seen:
            seen.append(line)
    text = ""
    for line in seen:  # "yaml: unmarshal errors:" introduces the next line
        text += (" " if text.endswith(":") else "; " if text else "") + line
    text = text or "promtool rejected the file without saying why"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def tested_copy(text: str, keep_labels: list[str] | None, ignore_annotations: bool) -> str:
    """The rules as the hidden tests load them: alert labels narrowed to keep_labels,
    annotations dropped when asked. Anything not shaped like a rules file is left alone
    (check rules has already said what is wrong with it)."""
    if keep_labels is None and not ignore_annotations:
        return text
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        return text
    for group in doc["groups"]:
        rules = group.get("rules") if isinstance(group, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if not isinstance(rule, dict) or "alert" not in rule:
                continue
            if ignore_annotations:
                rule.pop("annotations", None)
            labels = rule.get("labels")
            if keep_labels is not None and isinstance(labels, dict):
                rule["labels"] = {k: v for k, v in labels.items() if k in keep_labels}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1 << 20)


def inspect(submission: Path, lab: LabSpec) -> dict[str, Any]:
    opts = _options(lab)
    checks_dir = lab.root / "checks"
    tests = [checks_dir / t for t in opts["tests"]]
    for test in tests:  # the lab's own files: a missing one is the lab's bug
        if not test.is_file():
            raise OptionError(f"hidden test file {test} does not exist")
    check_as, tests_as = opts["check_as"], opts["tests_as"]
    promtool = find_promtool()
    if promtool is None:
        return {check_as: Unavailable(MISSING), tests_as: Unavailable(MISSING)}

    name = opts["rules"]
    failed = [False] * len(tests)
    source = submission / name
    if source.is_symlink() or not source.is_file():
        return {check_as: f"{name} is missing from your submission", tests_as: failed}
    if source.stat().st_size > MAX_RULES_BYTES:
        return {check_as: f"{name} is larger than {MAX_RULES_BYTES // 1024} KiB", tests_as: failed}
    data = source.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {check_as: f"{name} is not UTF-8 text", tests_as: failed}

    timeout = opts["timeout"]
    with tempfile.TemporaryDirectory(prefix="sf-promtool-") as tmp:
        work = Path(tmp)
        (work / RULES_COPY).write_bytes(data)
        code, output = _run(promtool, ["check", "rules", RULES_COPY], work, timeout)
        if code is None:
            return {check_as: f"promtool took longer than {timeout:g} s to check {name}", tests_as: failed}
        if code != 0:
            return {check_as: complaint(output, name), tests_as: failed}
        (work / TESTED_COPY).write_text(tested_copy(text, opts["keep_labels"], opts["ignore_annotations"]),
                                        encoding="utf-8")
        results = []
        for i, test in enumerate(tests):
            spec = yaml.safe_load(test.read_text(encoding="utf-8"))
            if not isinstance(spec, dict):
                raise OptionError(f"hidden test file {test} is not a promtool test file")
            spec["rule_files"] = [TESTED_COPY]
            test_name = f"test-{i}.yml"
            (work / test_name).write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
            code, _ = _run(promtool, ["test", "rules", test_name], work, timeout)
            results.append(code == 0)
            os.unlink(work / test_name)
    return {check_as: "ok", tests_as: results}
