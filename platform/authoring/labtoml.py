"""lab.toml and checks/checks.toml as form values, and back, keeping the author's comments
and layout (tomlkit edits the document in place). Also the skeleton of a new lab."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from sandbox import CEILING, Limits

from .drafts import LIMIT_KEYS, AuthoringError, MiB

SUBMISSION_KEYS = ("max_files", "max_bytes", "max_file_bytes", "max_upload_bytes")
SUBMISSION_DEFAULTS = {"max_files": 50, "max_bytes": 2 * MiB, "max_file_bytes": 512 * 1024, "max_upload_bytes": 2 * MiB}


def limit_default(key: str) -> float:
    field, unit = LIMIT_KEYS[key]
    return getattr(Limits(), field) / unit


def limit_ceiling(key: str) -> float:
    field, unit = LIMIT_KEYS[key]
    return getattr(CEILING, field) / unit


def _load(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        raise AuthoringError(f"{path.name} cannot be read: {exc}") from None


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _tables(doc: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    tables = [doc.get(name, {}) for name in names]
    for name, table in zip(names, tables, strict=True):
        if not isinstance(table, dict):
            raise AuthoringError(f"lab.toml: {name} must be a table ([{name}]) for the form to edit it.")
    return tables


def read_settings(lab_dir: Path) -> dict[str, Any]:
    """Form initial values from the draft's lab.toml and checks.toml (AuthoringError where the
    file has a shape the form cannot show: the text editor is the way to fix it)."""
    doc = _load(lab_dir / "lab.toml").unwrap()
    limits, submission, host, driver = _tables(doc, "limits", "submission", "host", "driver")
    command = driver.get("command", [])
    if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
        raise AuthoringError("lab.toml: driver.command must be a list of strings for the form to edit it.")
    if not all(isinstance(doc.get(k, []), list) for k in ("editable", "tags")):
        raise AuthoringError("lab.toml: editable and tags must be lists for the form to edit them.")
    values: dict[str, Any] = {
        "slug": doc.get("slug", ""),
        "title": doc.get("title", ""),
        "summary": doc.get("summary", ""),
        "version": doc.get("version", ""),
        "pass_bar": doc.get("pass_bar", 0.8),
        "image": doc.get("image", "skillforge/lab-python"),
        "gpu": doc.get("queue", "cpu") == "gpu",
        "editable": list(doc.get("editable", [])),
        "tags": ", ".join(str(t) for t in doc.get("tags", [])),
        "driver_command": shlex.join(command),
        "inspector": host.get("inspect", ""),
    }
    for key in LIMIT_KEYS:
        values[f"limit_{key}"] = limits.get(key, limit_default(key))
    for key in SUBMISSION_KEYS:
        values[f"submission_{key}"] = submission.get(key, SUBMISSION_DEFAULTS[key])
    return values


def read_checks(lab_dir: Path) -> list[dict[str, Any]]:
    path = lab_dir / "checks" / "checks.toml"
    if not path.is_file():
        return []
    checks = _load(path).unwrap().get("check", [])
    return [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def write_settings(lab_dir: Path, values: dict[str, Any]) -> dict[str, bytes]:
    """The new bytes of lab.toml (and checks.toml where weights are given) for cleaned form values."""
    doc = _load(lab_dir / "lab.toml")
    for key in ("title", "summary", "version"):
        doc[key] = values[key]
    doc["pass_bar"] = _number(values["pass_bar"])
    doc["image"] = values["image"]
    doc["queue"] = "gpu" if values["gpu"] else "cpu"
    doc["editable"] = list(values["editable"])
    doc["tags"] = [t.strip() for t in values["tags"].split(",") if t.strip()]
    driver = doc.setdefault("driver", tomlkit.table())
    driver["command"] = values["driver_command"]
    if values["inspector"]:
        host = doc.setdefault("host", tomlkit.table())
        host["inspect"] = values["inspector"]
    elif "host" in doc and "inspect" in doc["host"]:
        del doc["host"]["inspect"]
        if not doc["host"]:
            del doc["host"]
    limits = doc.setdefault("limits", tomlkit.table())
    for key in LIMIT_KEYS:
        limits[key] = _number(values[f"limit_{key}"])
    submission = doc.setdefault("submission", tomlkit.table())
    for key in SUBMISSION_KEYS:
        submission[key] = int(values[f"submission_{key}"])
    changes = {"lab.toml": tomlkit.dumps(doc).encode("utf-8")}
    weights = values.get("weights")
    if weights:
        checks_path = lab_dir / "checks" / "checks.toml"
        checks_doc = _load(checks_path)
        for entry in checks_doc.get("check", []):
            if _plain(entry.get("id")) in weights:
                entry["weight"] = _number(weights[_plain(entry["id"])])
        changes["checks/checks.toml"] = tomlkit.dumps(checks_doc).encode("utf-8")
    return changes


def skeleton(*, slug: str, title: str) -> dict[str, bytes]:
    """A new lab that works as it stands (its solution scores 1.0, its starter 0): the author
    replaces the task, keeping the shape. The driver observes the learner's program from outside."""
    lab_toml = f'''slug = {tomlkit.string(slug).as_string()}
title = {tomlkit.string(title).as_string()}
summary = "One sentence on what the learner builds."
version = "0.1.0"
pass_bar = 0.8
image = "skillforge/lab-python"
queue = "cpu"
editable = ["main.py"]
tags = []

[driver]
# The trusted driver runs in the sandbox as its own user and starts the learner's code.
command = ["python3", "-I", "/grader/driver.py"]

[limits]
wall_seconds = 30
cpu_seconds = 30
memory_mb = 512
pids = 64
disk_mb = 32
files = 10000
output_kb = 256
return_kb = 64

[submission]
max_files = 10
max_bytes = 262144
max_file_bytes = 131072
max_upload_bytes = 262144
'''
    checks = '''# Hidden checks: thresholds live here, on the host, and never enter the sandbox.

[[check]]
id = "answer"
name = "Prints the answer"
weight = 3
kind = "compare"
observe = "answer_correct"
op = "=="
threshold = true
explain = "Print exactly 42."

[[check]]
id = "brevity"
name = "Says little"
weight = 1
kind = "compare"
observe = "printed_bytes"
op = "<="
threshold = 100
unit = "bytes"
explain = "Print only the answer."
'''
    driver = '''"""Runs the learner's main.py as the learner user and records what it printed."""

import asyncio
import sys

sys.path.insert(0, "/grader")
import sfharness as h  # noqa: E402

h.prepare_workspace()
run = asyncio.run(h.run_learner(["python3", "-I", "main.py"], timeout=5, output_cap=64 * 1024))
printed = run.stdout.decode("utf-8", "replace")
h.emit({"answer_correct": run.termination == "ok" and printed.strip() == "42",
        "printed_bytes": len(run.stdout)}, run)
'''
    brief = f"""# {title}

Write `main.py` so that it prints **42** and nothing else.

| check | needs |
|---|---|
| the answer | exactly `42` |
| brevity | at most 100 bytes of output |
"""
    test = '''import subprocess
import sys


def test_prints_the_answer():
    out = subprocess.run([sys.executable, "main.py"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "42"
'''
    return {
        "lab.toml": lab_toml.encode(),
        "brief.md": brief.encode(),
        "starter/main.py": b"print(0)\n",
        "solution/main.py": b"print(42)\n",
        "public_tests/test_main.py": test.encode(),
        "checks/checks.toml": checks.encode(),
        "checks/driver/driver.py": driver.encode(),
    }


WRONG_SKELETON = {"wrong_prints_nothing/main.py": b"pass\n"}


def parse_command(text: str) -> list[str]:
    try:
        parts = shlex.split(text)
    except ValueError as exc:
        raise AuthoringError(f"the command cannot be split into words: {exc}") from None
    if not parts:
        raise AuthoringError("the driver needs a command, e.g. python3 -I /grader/driver.py")
    return parts
