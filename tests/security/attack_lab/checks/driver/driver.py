"""Trusted driver of the security attack lab (runs as the driver user inside the sandbox).

It copies the submission into /work as the learner, runs `python3 -I main.py` as the
learner's user with a timeout and an output cap, and records only what it observed:
the last line printed (scored on the host against an expected value that never enters
the sandbox), whether the program exited cleanly, and its first line (echoed in
feedback). Nothing the learner's process says about itself is taken as a verdict.
"""

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; sfharness.py sits next to this file

import asyncio  # noqa: E402

import sfharness as h  # noqa: E402

LEARNER_TIMEOUT = 5.0  # room for the whole-filesystem attacks on a loaded 2-core machine
OUTPUT_CAP = 64 * 1024
KEEP = 200  # characters of a line kept as an observation

h.prepare_workspace()
run = asyncio.run(h.run_learner(["python3", "-I", "main.py"], timeout=LEARNER_TIMEOUT, output_cap=OUTPUT_CAP))
lines = [line.strip() for line in run.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
h.emit(
    {
        "answers": [lines[-1][:KEEP] if lines else ""],
        "clean_exit": run.termination == "ok" and run.exit_code == 0,
        "first_line": lines[0][:KEEP] if lines else "",
    },
    run,
)
