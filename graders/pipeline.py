"""The grading pipeline, as small steps each testable alone:

    trusted_payload -> run_spec -> (runner) -> read_observations -> evaluate -> assemble

`grade()` is what workers, the `grade` command and `labcheck` all call.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from sandbox import RunResult, RunSpec, Termination

from . import checks as check_kinds
from . import inspectors
from .hashing import tree_hash
from .labspec import LabSpec
from .report import CheckResult, GradeReport, RunFacts

HARNESS = Path(__file__).with_name("harness")  # sfharness.py and the drivers' helpers
OBSERVATIONS = "observations.json"
NOTEBOOK = "notebook.json"  # a notebook submission's outputs, for display (harness/sfnotebook.py)
Runner = Callable[[RunSpec], RunResult]

OBSERVATIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["observations"],
    "additionalProperties": False,
    "properties": {
        "observations": {"type": "object", "propertyNames": {"pattern": "^[a-z0-9_]{1,64}$"}},
        "learner": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "exit_code": {"type": ["integer", "null"]},
                "termination": {"enum": ["ok", "timeout", "output_limit"]},
                "timeout": {"type": "number", "minimum": 0},
                "log": {"type": "string", "maxLength": 8000},
            },
        },
    },
}


NOTEBOOK_SCHEMA: dict[str, Any] = json.loads(Path(__file__).with_name("report.schema.json").read_text())["$defs"]["notebook"]


def _validator(schema: dict[str, Any]) -> Any:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# Checked once here: jsonschema.validate() checks the schema itself again on every call.
_VALIDATORS = {"observations": _validator(OBSERVATIONS_SCHEMA), "notebook": _validator(NOTEBOOK_SCHEMA)}


def _validate(doc: Any, which: str) -> None:
    """What jsonschema.validate(doc, schema) raises: the best-matching error, if any."""
    error = jsonschema.exceptions.best_match(_VALIDATORS[which].iter_errors(doc))
    if error is not None:
        raise error


class GradingError(RuntimeError):
    """Grading could not be carried out (the sandbox or the lab's grader failed).

    Not the learner's fault: the attempt ends in status 'error' with this message and
    can be retried. str(exc) is safe to show.
    """


class SandboxFailed(GradingError):
    """The sandbox itself failed (termination sandbox_error): the engine stopped mid-run, a
    container could not be started. Our infrastructure, never the learner's code, so a
    worker puts the attempt back in the queue rather than ending it. `detail` is the
    backend's own words, for operators' logs, never for the learner."""

    def __init__(self, detail: str, backend: str = "") -> None:
        super().__init__("The sandbox failed to run the submission (a problem on the grading machine, not in the "
                         "submitted code).")
        self.detail, self.backend = detail, backend


def termination_message(termination: str, lab: LabSpec, *, timeout: float | None = None) -> str:
    """What a limit hit means, in the learner's words. timeout: the driver's own limit
    for the learner's process, where that (not the sandbox's) is what stopped it."""
    lim = lab.limits
    time_limit = f"{timeout:g} s" if timeout else f"{lim.wall_seconds:g} s wall, {lim.cpu_seconds:g} s CPU"
    return {
        "timeout": f"Your program ran past the time limit ({time_limit}) and was stopped.",
        "memory": f"Your program used more than {lim.memory_bytes // 2**20} MiB of memory and was stopped.",
        "output_limit": f"Your program printed more than {lim.output_bytes // 1024} KiB of output and was stopped.",
        "pids": f"Your program started more than {lim.pids} processes and was stopped.",
        "killed": "Your program was killed by a signal before it finished.",
    }.get(termination, f"Your program ended abnormally ({termination}).")


def trusted_payload(lab: LabSpec, dest: Path) -> Path:
    """The files mounted at /grader: the lab's driver and the harness, nothing else."""
    shutil.copytree(lab.driver_dir, dest, dirs_exist_ok=True)
    for helper in sorted(HARNESS.glob("*.py")):
        shutil.copy2(helper, dest / helper.name)
    return dest


def run_spec(lab: LabSpec, submission_dir: Path, trusted: Path, *, gpus: tuple[str, ...] = ()) -> RunSpec:
    env = {"PYTHONPATH": "/grader"}
    # Which device the sandbox has, for the driver (and the learner's code, where the driver passes
    # it on): a passed-through GPU is the container's device 0; CPU only hides every CUDA device.
    env["SKILLFORGE_DEVICE"] = "cuda" if gpus else "cpu"
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(len(gpus)))
    if lab.notebook:
        nb = lab.notebook
        env["SF_NOTEBOOK"] = json.dumps({"modules": list(nb.modules), "cell_seconds": nb.cell_seconds,
                                         "total_seconds": nb.total_seconds, "output_bytes": nb.output_bytes})
    return RunSpec(
        image=lab.image,
        command=lab.driver_command,
        submission=submission_dir,
        trusted=trusted,
        returns=(OBSERVATIONS, NOTEBOOK),  # a driver writes notebook.json only for a notebook
        limits=lab.limits,
        gpus=gpus,
        env=env,
    )


def read_observations(result: RunResult) -> dict[str, Any] | None:
    """The driver's document, parsed as data and validated; None where there is none."""
    raw = result.files.get(OBSERVATIONS)
    if raw is None:
        return None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        _validate(doc, "observations")
    except (UnicodeDecodeError, ValueError, jsonschema.ValidationError) as exc:
        raise GradingError(f"The lab's grader wrote an invalid observations document: {str(exc)[:300]}") from None
    return _text_safe(doc)


def read_notebook(result: RunResult) -> dict[str, Any] | None:
    """A notebook submission's outputs, as display data; None where there are none or
    they are malformed (they never decide a grade, so a bad one is dropped, not fatal)."""
    raw = result.files.get(NOTEBOOK)
    if raw is None:
        return None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        _validate(doc, "notebook")
    except (UnicodeDecodeError, ValueError, jsonschema.ValidationError):
        return None
    return _text_safe(doc)  # type: ignore[no-any-return]


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _text_safe(value: Any) -> Any:
    """NUL cannot be stored as text (PostgreSQL's jsonb refuses it); show it as U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_text_safe(v) for v in value]
    if isinstance(value, dict):
        return {_text_safe(k): _text_safe(v) for k, v in value.items()}
    return value


def host_observations(lab: LabSpec, submission_dir: Path) -> dict[str, Any]:
    """The lab's host inspector over the submission as data (graders.inspectors)."""
    try:
        return inspectors.inspect(lab, submission_dir)
    except Exception as exc:  # platform code failing on odd input is our fault, not the learner's
        raise GradingError(f"The lab's host inspector {lab.inspector!r} failed: {type(exc).__name__}: "
                           f"{str(exc)[:300]}. This is not your fault.") from exc


def evaluate(lab: LabSpec, result: RunResult, doc: dict[str, Any] | None,
             host: dict[str, Any] | None = None) -> tuple[list[CheckResult], str]:
    """One result per check, and the summary line for the learner."""
    if result.termination is not Termination.OK:
        message = termination_message(result.termination.value, lab)
        return [check_kinds.errored(c, message) for c in lab.checks], message
    if doc is None:
        tail = result.stderr.decode("utf-8", "replace")[-600:]
        raise GradingError(f"The lab's grader produced no observations (exit {result.exit_code}). {tail}".strip())
    observations = doc["observations"]
    if host:
        clash = sorted(set(host) & set(observations))
        if clash:
            raise GradingError(f"The lab's driver and host inspector both observed {clash[0]!r}.")
        observations = {**observations, **host}
    results = [check_kinds.evaluate(c, observations, lab.expected_dir) for c in lab.checks]
    learner = doc.get("learner") or {}
    summary = ""
    if learner.get("termination") in ("timeout", "output_limit"):
        summary = termination_message(learner["termination"], lab, timeout=learner.get("timeout"))
    elif learner.get("exit_code") not in (None, 0):
        summary = f"Your program exited with status {learner['exit_code']}; see the log below."
    return results, summary


def assemble(lab: LabSpec, submission_hash: str, results: list[CheckResult], summary: str,
             result: RunResult, doc: dict[str, Any] | None) -> GradeReport:
    total = sum(c.weight for c in lab.checks)
    score = round(sum(r.points for r in results) / total, 4) if total else 0.0
    passed = score >= lab.pass_bar
    passed_count = sum(r.status == "pass" for r in results)
    head = f"{passed_count} of {len(results)} checks passed; score {score:.2f} (pass bar {lab.pass_bar:.2f})."
    learner = (doc or {}).get("learner") or {}
    return GradeReport(
        lab_slug=lab.slug,
        lab_version=lab.version,
        lab_content_hash=lab.content_hash,
        submission_hash=submission_hash,
        pass_bar=lab.pass_bar,
        score=score,
        passed=passed,
        summary=f"{head} {summary}".strip(),
        checks=tuple(results),
        run=RunFacts(
            backend=result.backend,
            image_digest=result.image_digest,
            termination=result.termination.value,
            exit_code=result.exit_code,
            wall_seconds=round(result.wall_seconds, 3),
            cpu_seconds=None if result.cpu_seconds is None else round(result.cpu_seconds, 3),
            peak_memory_bytes=result.peak_memory_bytes,
            learner_log=str(learner.get("log", "")),
            notebook=read_notebook(result),
        ),
    )


def grade(lab: LabSpec, submission_dir: Path, *, runner: Runner, gpus: tuple[str, ...] = ()) -> GradeReport:
    """Grade an accepted submission folder. Raises GradingError when grading itself fails
    (SandboxFailed, a subclass, when the sandbox did)."""
    submission_hash = tree_hash(submission_dir)
    host = host_observations(lab, submission_dir)
    with tempfile.TemporaryDirectory(prefix="sf-trusted-") as tmp:
        spec = run_spec(lab, submission_dir, trusted_payload(lab, Path(tmp) / "grader"), gpus=gpus)
        result = runner(spec)
    if result.termination is Termination.SANDBOX_ERROR:
        raise SandboxFailed(result.message, result.backend)
    doc = read_observations(result) if result.termination is Termination.OK else None
    results, summary = evaluate(lab, result, doc, host)
    return assemble(lab, submission_hash, results, summary, result, doc)
