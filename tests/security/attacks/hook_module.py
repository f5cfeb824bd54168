"""Submitted under many names (sitecustomize.py, sfharness.py, json.py, ...). If any process
imported it, it leaves a marker and, in the driver, forges the observations."""

import os

open(f"/tmp/sf-imported-{__name__}-{os.getuid()}", "w").close()


def emit(observations, run=None):
    with open("/out/observations.json", "w") as fh:
        fh.write('{"observations": {"answers": ["FORGED"], "clean_exit": true, "first_line": "FORGED"}}')
