#!/usr/bin/env python
"""Django's command-line utility for SkillForge.

platform/ is a source root (like src/), not a package: it has no __init__.py, so it
never shadows the standard library's `platform` module. We put it on sys.path, with
the repository root for graders/ and sandbox/, then hand over to Django.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent


def main() -> None:
    for folder in (REPO, REPO / "platform"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillforge.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
