"""The grader's own reference scanner (trusted): requirements as data against an OSV-style
advisory list. The driver uses it to check the learner's requirements.txt; the lab's tests
use it to prove checks/expected/ right. Never imports or runs the learner's code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)")


def normalize(name: str) -> str:
    """PEP 503: case and runs of -, _ and . do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    name: str  # normalized
    version: str | None  # the exact pin (==), or None when not pinned
    line: int
    text: str


def parse(text: str) -> list[Requirement]:
    """Requirement lines of a requirements file: comments, options and markers dropped,
    backslash continuations joined."""
    reqs = []
    lines = text.replace("\\\r\n", " ").replace("\\\n", " ").splitlines()
    for n, raw in enumerate(lines, 1):
        line = re.sub(r"(?:^|\s)#.*", "", raw).strip()
        if not line or line.startswith("-"):
            continue
        line = re.split(r"\s--?[a-z]", line.split(";", 1)[0])[0].strip()
        m = _NAME.fullmatch(line)
        if not m:
            continue
        spec = m.group(2).strip()
        pin = re.fullmatch(r"===?\s*([A-Za-z0-9.+!-]+)", spec)
        reqs.append(Requirement(normalize(m.group(1)), pin.group(1) if pin else None, n, raw.strip()))
    return reqs


def _v(text: str) -> Version:
    return Version("0") if text == "0" else Version(text)


def affected(version: str, entry: dict) -> bool:
    """OSV: listed versions, or ranges whose events, sorted by version, leave it affected."""
    try:
        v = Version(version)
        if any(Version(x) == v for x in entry.get("versions", [])):
            return True
        for rng in entry.get("ranges", []):
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            hit = False
            for event in sorted(rng.get("events", []), key=lambda e: _v(next(iter(e.values())))):
                kind, at = next(iter(event.items()))
                if kind == "introduced" and v >= _v(at):
                    hit = True
                elif (kind == "fixed" and v >= _v(at)) or (kind == "last_affected" and v > _v(at)):
                    hit = False
            if hit:
                return True
    except InvalidVersion:
        return False
    return False


def findings(reqs: list[Requirement], advisories: list[dict]) -> list[tuple[Requirement, str]]:
    out = []
    for req in reqs:
        if req.version is None:
            continue
        for adv in advisories:
            for entry in adv.get("affected", []):
                pkg = entry.get("package", {})
                if pkg.get("ecosystem") == "PyPI" and normalize(pkg.get("name", "")) == req.name \
                        and affected(req.version, entry):
                    out.append((req, adv["id"]))
    return out


def problems(text: str, advisories: list[dict]) -> list[str]:
    """What is wrong with a project's own requirements.txt: vulnerable or unpinned lines."""
    reqs = parse(text)
    out = [f"{req.name}=={req.version} ({adv})" for req, adv in findings(reqs, advisories)]
    out += [f"{req.name} is not pinned with ==" for req in reqs if req.version is None]
    if not reqs:
        out.append("requirements.txt lists no requirements")
    return out
