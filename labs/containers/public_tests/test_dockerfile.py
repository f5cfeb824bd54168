"""The Dockerfile, read as text (the grader also builds and runs it with Docker)."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest
from conftest import ROOT

BASE = "skillforge/lab-python"
SECRET_NAMES = {".env", "id_rsa", "id_ed25519", "id_ecdsa", ".npmrc", ".pypirc", ".netrc", ".git-credentials"}


def instructions() -> list[tuple[str, str]]:
    path = ROOT / "Dockerfile"
    if not path.is_file():
        pytest.fail("no Dockerfile next to server.py")
    text = re.sub(r"\\\n", "", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    start = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[start:]


def test_builds_from_the_platform_base_image():
    stages = set()
    for keyword, rest in instructions():
        if keyword == "FROM":
            words = rest.split()
            assert words[0] == BASE or words[0].split(":")[0] == BASE or words[0].lower() in stages, \
                f"FROM {words[0]}: build FROM {BASE} (there is no registry and no network at build time)"
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
        if keyword == "RUN":
            assert not re.search(r"\b(pip3?|apt-get|apt|curl|wget)\b.*\binstall\b|\bcurl\b|\bwget\b", rest), \
                f"RUN {rest}: builds have no network; the base image already has what you need"


def test_runs_as_a_numeric_non_root_user():
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users, "set USER (a numeric uid, not root) in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: use a numeric, non-zero uid (runAsNonRoot checks it)"


def test_cmd_is_exec_form_so_sigterm_reaches_python():
    commands = [(k, rest) for k, rest in final_stage() if k in ("CMD", "ENTRYPOINT")]
    assert commands, "set CMD"
    for keyword, rest in commands:
        assert rest.startswith("[") and isinstance(json.loads(rest), list), \
            f'{keyword} {rest}: use the exec form, {keyword} ["python3", "server.py"], so python3 is PID 1'


def ignored(name: str, patterns: list[str]) -> bool:
    parts = name.split("/")
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatch("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            result = not negate
    return result


def test_no_secret_files_reach_the_image():
    ignore = ROOT / ".dockerignore"
    patterns = [line.strip() for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")] if ignore.is_file() else []
    context = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()
               and "public_tests" not in p.parts and "__pycache__" not in p.parts]
    context = [name for name in context if not ignored(name, patterns)]
    copied = set()
    for keyword, rest in instructions():
        if keyword in ("COPY", "ADD") and "--from" not in rest:
            words = [w for w in (json.loads(rest) if rest.startswith("[") else rest.split()) if not w.startswith("--")]
            for source in words[:-1]:
                source = source.strip("/").removeprefix("./")
                copied |= {n for n in context if source in ("", ".") or fnmatch.fnmatch(n, source)
                           or n.startswith(source.rstrip("/") + "/")}
    leaked = sorted(n for n in copied if n.split("/")[-1] in SECRET_NAMES or n.split("/")[-1].startswith(".env."))
    assert not leaked, f"{leaked} would be baked into the image: keep them out with .dockerignore"
    for keyword, rest in instructions():
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"(KEY|TOKEN|SECRET|PASSWORD)\w*\s*=\s*\S", rest, re.I), \
                f"{keyword} {rest}: secrets come from a Kubernetes Secret at run time, never from the image"
