"""Dependency scan: fail the build when a pinned requirement has a known advisory.

    python scripts/security_scan.py --requirements requirements.txt --advisories security/advisories.json

The advisory file is a JSON list of OSV records (https://ossf.github.io/osv-schema/). For
every `name==version` pin that an advisory affects, print one line naming the package,
its version and the advisory id. Exit status: 0 nothing found, 1 at least one finding,
2 the input is unusable. The brief has the exact rules.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fail on a dependency with a known advisory.")
    parser.add_argument("--requirements", required=True)
    parser.add_argument("--advisories", required=True)
    parser.parse_args(argv)
    # TODO: parse the requirements, match each pin against the advisories, print findings.
    print("security scan: not implemented yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
