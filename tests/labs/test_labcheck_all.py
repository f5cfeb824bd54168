"""`manage.py labcheck` over every lab under labs/, exactly as an author or CI runs it: the
solution scores 1.0 within its limits, the starter and every tests/labs/<slug>/wrong_*
solution score below the bar, two gradings of the solution are byte-identical. It runs
as a separate process on the default backend (Docker where an engine answers), so it also
proves the command's own wiring; each lab's own test file checks the details on both
backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LABS = sorted(p.name for p in (REPO / "labs").iterdir() if (p / "lab.toml").is_file())

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("slug", LABS)
def test_labcheck_proves_the_lab(slug):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run([sys.executable, "manage.py", "labcheck", slug], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "all labs check out" in proc.stdout
    assert proc.stdout.count("ok  ") >= 6, proc.stdout  # solution, its limits, starter, 3+ wrong, determinism
