"""Host inspectors: trusted platform code that reads a submission *as data* on the host.

Most checks observe the learner's code from a driver inside the sandbox. Some labs grade
artefacts that are data, not programs to run (a CI workflow's YAML, Kubernetes manifests),
or that need the host's own engine (building the learner's Dockerfile with Docker). A lab
names an inspector in lab.toml:

    [host]
    inspect = "workflow"          # a key of INSPECTORS
    [host.options]                # passed to the inspector as-is
    scenarios = "scenarios.json"  # e.g. a file in checks/ (host only)

Inspectors live here, in platform code, and are chosen by name: a lab (which an
instructor may upload) never brings code that runs outside a sandbox. An inspector
returns observations, merged with the driver's before the checks are evaluated; a name
both produce is a lab bug (GradingError). It must never execute the submission on the
host; where it needs a part that is absent (no Docker engine) it returns
Unavailable("needs Docker: …") for the observations it cannot make, and the checks that
read them show that reason instead of passing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..labspec import LabSpec


@dataclass(frozen=True)
class Unavailable:
    """An observation the inspector could not make here, and why (shown to the learner)."""

    reason: str


Inspector = Callable[[Path, "LabSpec"], dict[str, Any]]

# name -> "package.module:function"; imported on first use so a lab that needs none pays
# nothing. Each inspector module of this package adds its own line here.
INSPECTORS: dict[str, str] = {
    "promtool": "graders.inspectors.promtool:inspect",
    "container": "graders.inspectors.container:inspect",
    "workflow": "graders.inspectors.workflow:inspect",
}


def get(name: str) -> Inspector:
    target = INSPECTORS.get(name)
    if target is None:
        raise KeyError(name)
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def inspect(lab: LabSpec, submission: Path) -> dict[str, Any]:
    """Run the lab's inspector (if any) over an accepted submission folder."""
    if not lab.inspector:
        return {}
    return dict(get(lab.inspector)(submission, lab))
