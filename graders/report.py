"""GradeReport: the graded outcome as JSON, with a published schema and stable bytes.

Everything but `run` is the hashed part: the same lab version and submission give the
same bytes (sorted keys, no clocks), so a credential can pin a report by digest and
anyone can re-grade and compare. `run` holds the sandbox facts (backend, timings).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from .hashing import bytes_hash

GRADER_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
SCHEMA_ID = "https://skillforge.dev/schemas/grade-report-1.json"


@dataclass(frozen=True)
class CheckResult:
    id: str
    name: str
    weight: float
    points: float
    status: str  # pass | fail | error
    message: str
    observed: Any = None
    threshold: Any = None
    op: str | None = None
    unit: str = ""


@dataclass(frozen=True)
class RunFacts:
    backend: str
    image_digest: str
    termination: str
    exit_code: int | None
    wall_seconds: float
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    learner_log: str = ""
    notebook: dict[str, Any] | None = None  # a notebook submission's outputs (display only)


@dataclass(frozen=True)
class GradeReport:
    lab_slug: str
    lab_version: str
    lab_content_hash: str
    submission_hash: str
    pass_bar: float
    score: float
    passed: bool
    summary: str
    checks: tuple[CheckResult, ...]
    run: RunFacts
    grader_version: str = GRADER_VERSION

    def hashed_part(self) -> dict[str, Any]:
        return {
            "$schema": SCHEMA_ID,
            "grader_version": self.grader_version,
            "lab": {"slug": self.lab_slug, "version": self.lab_version, "content_hash": self.lab_content_hash},
            "submission_hash": self.submission_hash,
            "pass_bar": self.pass_bar,
            "score": self.score,
            "passed": self.passed,
            "summary": self.summary,
            "checks": [asdict(c) for c in self.checks],
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.hashed_part(), "digest": self.digest, "run": asdict(self.run)}

    def canonical_bytes(self) -> bytes:
        return canonical(self.hashed_part())

    @property
    def digest(self) -> str:
        return bytes_hash(self.canonical_bytes())

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate(document: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError where a report document breaks the schema."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:  # what jsonschema.validate raises, less re-checking the schema every call
        raise error


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The schema, read and checked once per process (checking it took ~9 ms of each grade)."""
    document = schema()
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document)
