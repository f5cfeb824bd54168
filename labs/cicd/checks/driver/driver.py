"""Trusted driver for the cicd lab. Runs inside the sandbox as the driver user.

The workflow itself is checked and simulated on the host (graders/inspectors/workflow.py);
here the driver runs the learner's two scripts, as the learner's user, on inputs it writes
itself, and records only what it sees from outside (exit codes and printed names):

  gate_exit_codes       scripts/eval_gate.py's exit code on each hidden eval case
                        (gate_cases.py), matched on the host against the right decisions
  scan_planted          [exit code, packages named on finding lines] for each requirements
  scan_clean            file of scan_cases.py, scanned with the grader's advisory database
  requirement_problems  the grader's own scan (refscan.py) of the submission's
                        requirements.txt: vulnerable or unpinned lines, or "none"

A "finding line" is a line of the scan's output that names an advisory id or alias from
the database; the packages named on such lines are read from the case's own requirement
names (PEP 503-normalized), so printing more than the findings costs nothing and naming a
package that is not vulnerable shows up. Every observation is an integer, a string or a
list of them: the same submission gets byte-identical reports run after run.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gate_cases  # noqa: E402
import refscan  # noqa: E402
import scan_cases  # noqa: E402
import sfharness as h  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES = Path("/tmp/sf-cases")  # written by the driver; the learner may read, not write
SCRIPT_TIMEOUT = 5.0  # seconds per run of a learner script (a correct one needs a tenth of that)
BUDGET = 60.0  # seconds for all 22 runs together, so a hanging script cannot eat the sandbox's wall clock
OUTPUT_CAP = 64 * 1024
STARTED = time.monotonic()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    return path


def named(output: bytes, requirement_text: str, ids: list[str]) -> list[str]:
    """Packages of this file named on the output's finding lines (lines with an advisory id)."""
    names = sorted({r.name for r in refscan.parse(requirement_text)})
    found: set[str] = set()
    for line in output.decode("utf-8", "replace").splitlines():
        flat = line.upper()
        if not any(i in flat for i in ids):
            continue
        norm = refscan.normalize(line)
        found.update(n for n in names if re.search(rf"(?<![a-z0-9-]){re.escape(n)}(?![a-z0-9-])", norm))
    return sorted(found)


async def run_script(argv: list[str], notes: list[str], label: str) -> h.LearnerRun:
    # As CI runs it (no -I: a script may import a module beside it), as the learner's user.
    left = BUDGET - (time.monotonic() - STARTED)
    if left < 1.0:
        notes.append(f"{label}: not run, the {BUDGET:g} s budget for your scripts is spent")
        return h.LearnerRun(None, b"", b"", "timeout", 0.0, SCRIPT_TIMEOUT)
    run = await h.run_learner(["python3", *argv], timeout=min(SCRIPT_TIMEOUT, left), output_cap=OUTPUT_CAP)
    shown = "timed out" if run.termination == "timeout" else \
        "printed too much" if run.termination == "output_limit" else f"exit {run.exit_code}"
    tail = (run.stdout + run.stderr).decode("utf-8", "replace").strip().splitlines()[-1:]
    notes.append(f"{label}: {shown}" + (f" | {tail[0][:90]}" if tail else ""))
    return run


async def grade() -> tuple[dict[str, Any], list[str], bool]:
    CASES.mkdir(mode=0o755, exist_ok=True)
    CASES.chmod(0o755)
    notes: list[str] = []
    timed_out = False
    obs: dict[str, Any] = {}

    codes: list[int | None] = []
    for n, case in enumerate(gate_cases.CASES, 1):
        baseline, candidate = gate_cases.build(case)
        b = write(CASES / f"gate{n:02d}-baseline.jsonl", baseline)
        c = write(CASES / f"gate{n:02d}-candidate.jsonl", candidate)
        run = await run_script(["scripts/eval_gate.py", "--baseline", str(b), "--candidate", str(c), *case.args()],
                               notes, f"gate case {n} ({case.name})")
        codes.append(run.exit_code)
        timed_out |= run.termination == "timeout"
    obs["gate_exit_codes"] = codes

    db_text = (HERE / "advisories.json").read_text(encoding="utf-8")
    db = json.loads(db_text)
    ids = sorted({x.upper() for adv in db for x in [adv["id"], *adv.get("aliases", [])]})
    write(CASES / "advisories.json", db_text)
    for group, texts in (("planted", scan_cases.PLANTED), ("clean", scan_cases.CLEAN)):
        results = []
        for n, text in enumerate(texts, 1):
            req = write(CASES / f"{group}{n:02d}-requirements.txt", text)
            run = await run_script(["scripts/security_scan.py", "--requirements", str(req),
                                    "--advisories", str(CASES / "advisories.json")], notes, f"scan, {group} file {n}")
            results.append([run.exit_code, named(run.stdout + run.stderr, text, ids)])
            timed_out |= run.termination == "timeout"
        obs[f"scan_{group}"] = results

    own = Path("/submission/requirements.txt")
    try:
        problems = refscan.problems(own.read_text(encoding="utf-8"), db) if own.is_file() and not own.is_symlink() \
            else ["there is no requirements.txt"]
    except (OSError, UnicodeDecodeError):
        problems = ["requirements.txt could not be read as UTF-8 text"]
    obs["requirement_problems"] = "; ".join(problems[:5]) if problems else "none"
    notes.append(f"your requirements.txt: {obs['requirement_problems']}")
    return obs, notes, timed_out


def main() -> None:
    h.prepare_workspace()
    obs, notes, timed_out = asyncio.run(grade())
    log = ("[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, h.LearnerRun(0, b"", log, "timeout" if timed_out else "ok", 0.0, SCRIPT_TIMEOUT))


if __name__ == "__main__":
    main()
