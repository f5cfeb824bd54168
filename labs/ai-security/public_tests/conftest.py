"""Find your guard.py. Run from the folder that holds it:

    python -m pytest public_tests -q

(or set GUARD_DIR=/path/to/folder).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_here = Path(__file__).resolve().parent
for folder in (os.environ.get("GUARD_DIR"), os.getcwd(), str(_here.parent)):
    if folder and (Path(folder) / "guard.py").is_file():
        sys.path.insert(0, folder)
        break
else:
    pytest.exit("guard.py not found: run pytest from the folder that holds it, or set GUARD_DIR", returncode=4)
