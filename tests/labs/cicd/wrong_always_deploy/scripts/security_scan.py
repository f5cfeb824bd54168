"""Dependency scan: fail the build when a pinned requirement has a known advisory.

    python scripts/security_scan.py --requirements requirements.txt --advisories security/advisories.json

The advisory file is a JSON list of OSV records (https://ossf.github.io/osv-schema/). For
every `name==version` pin that an advisory affects, one line is printed:

    requests==2.31.0: GHSA-9wx4-h78v-vm56 (CVE-2024-35195) Requests Session keeps verify=False ...

Exit status: 0 nothing found, 1 at least one finding, 2 the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from packaging.version import InvalidVersion, Version

CLEAN, FOUND, BAD_INPUT = 0, 1, 2
_REQUIREMENT = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)")


def normalize(name: str) -> str:
    """PEP 503: PyYAML, pyyaml and py_yaml are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(text: str) -> list[tuple[str, str | None, str]]:
    """(normalized name, pinned version or None, the line) for each requirement."""
    out = []
    for raw in text.replace("\\\r\n", " ").replace("\\\n", " ").splitlines():
        line = re.sub(r"(?:^|\s)#.*", "", raw).strip()  # comments
        if not line or line.startswith("-"):  # options: -r, --index-url, ...
            continue
        line = line.split(";", 1)[0]  # environment markers
        line = re.split(r"\s--?[a-z]", line)[0].strip()  # per-requirement options: --hash=...
        m = _REQUIREMENT.fullmatch(line)
        if m:
            pin = re.fullmatch(r"===?\s*([A-Za-z0-9.+!-]+)", m.group(2).strip())
            out.append((normalize(m.group(1)), pin.group(1) if pin else None, raw.strip()))
    return out


def affected(version: Version, entry: dict) -> bool:
    if any(Version(v) == version for v in entry.get("versions", [])):
        return True
    for rng in entry.get("ranges", []):
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        hit = False  # OSV: walk the events sorted by version ("0" is before the first release)
        for event in sorted(rng.get("events", []), key=lambda e: Version(next(iter(e.values())))):
            kind, at = next(iter(event.items()))
            if kind == "introduced" and version >= Version(at):
                hit = True
            elif kind == "fixed" and version >= Version(at):
                hit = False
            elif kind == "last_affected" and version > Version(at):
                hit = False
        if hit:
            return True
    return False


def fixed_in(entry: dict) -> str:
    fixes = [e["fixed"] for r in entry.get("ranges", []) for e in r.get("events", []) if "fixed" in e]
    return f"; fixed in {', '.join(fixes)}" if fixes else "; no fixed version"


def scan(reqs: list[tuple[str, str | None, str]], advisories: list[dict]) -> list[str]:
    findings = []
    for name, pin, line in reqs:
        if pin is None:
            print(f"warning: {line!r} is not pinned with ==; it cannot be checked", file=sys.stderr)
            continue
        try:
            version = Version(pin)
        except InvalidVersion:
            print(f"warning: {line!r}: {pin!r} is not a valid version", file=sys.stderr)
            continue
        for adv in advisories:
            for entry in adv.get("affected", []):
                package = entry.get("package", {})
                if package.get("ecosystem") != "PyPI" or normalize(package.get("name", "")) != name:
                    continue
                if affected(version, entry):
                    aliases = f" ({', '.join(adv.get('aliases', []))})" if adv.get("aliases") else ""
                    findings.append(f"{name}=={pin}: {adv['id']}{aliases} {adv.get('summary', '')}{fixed_in(entry)}")
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", required=True)
    parser.add_argument("--advisories", required=True)
    args = parser.parse_args(argv)
    try:
        with open(args.requirements, encoding="utf-8") as fh:
            reqs = requirements(fh.read())
        with open(args.advisories, encoding="utf-8") as fh:
            advisories = json.load(fh)
        if not isinstance(advisories, list):
            raise ValueError("the advisory file must hold a JSON list of OSV records")
        findings = scan(reqs, advisories)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"security scan: unusable input: {exc}", file=sys.stderr)
        return BAD_INPUT
    for finding in findings:
        print(finding)
    print(f"security scan: {len(findings)} finding(s) in {len(reqs)} requirement(s)", file=sys.stderr)
    return FOUND if findings else CLEAN


if __name__ == "__main__":
    sys.exit(main())
