"""Imports the learner's answer.py (from a file, or exported from a notebook) as the
learner user and records what answer() returned."""

import sys

sys.path.insert(0, "/grader")

import asyncio  # noqa: E402

import sfharness as h  # noqa: E402

h.prepare_workspace()
PROGRAM = "import sys; sys.path.insert(0, '/work'); import answer; print(answer.answer())"
run = asyncio.run(h.run_learner(["python3", "-I", "-c", PROGRAM], timeout=10))
printed = run.stdout.decode("utf-8", "replace").strip()
h.emit({"answer": int(printed) if printed.lstrip("-").isdigit() else None}, run)
