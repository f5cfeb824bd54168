"""Notebook submissions: validated at intake, executed as the learner with nbclient in a
real sandbox (per-cell and total limits, capped output), and graded through the module
their definitions are exported to, by the same driver as a file submission."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from graders import SubmissionLimits, SubmissionRejected, accept_upload, grade, load_lab
from graders.report import validate

HERE = Path(__file__).resolve().parent
LAB = HERE / "lab"


def _load_sfnotebook():
    spec = importlib.util.spec_from_file_location("sfnotebook", HERE.parents[1] / "graders/harness/sfnotebook.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["sfnotebook"] = module
    spec.loader.exec_module(module)
    return module


sfnotebook = _load_sfnotebook()


def notebook(*cells: str, markdown: str = "# My work") -> bytes:
    """A valid nbformat 4.5 notebook: a markdown cell, then one code cell per source."""
    def code(i: int, src: str) -> dict:
        return {"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                "source": src}
    doc = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "markdown", "id": "m0", "metadata": {}, "source": markdown},
                  *(code(i, src) for i, src in enumerate(cells))],
    }
    return json.dumps(doc).encode()


# -- export and outputs, on the host -------------------------------------------------------


def test_export_keeps_definitions_and_drops_what_only_runs():
    nb = json.loads(notebook(
        "import math\n%matplotlib inline\nLIMIT = 3\n",
        "def answer():\n    return 42\n\nprint(answer())\nanswer()\n",
        "for i in range(3):\n    print(i)\n",
        "def broken(:\n    pass\n",
        "!pip install requests\nclass Box:\n    size: int = 1\n",
        "from __future__ import annotations\nfrom __future__ import annotations\nX: list[int] = []\n",
    ))
    source, notes = sfnotebook.export_module(nb)
    namespace: dict = {}
    exec(compile(source, "answer.py", "exec"), namespace)  # the exported module is valid Python
    assert namespace["answer"]() == 42 and namespace["LIMIT"] == 3 and namespace["Box"].size == 1
    assert source.startswith("from __future__ import annotations\n\n") and source.count("__future__") == 1
    assert "print(" not in source and "for i" not in source and "pip" not in source
    assert notes == [
        "cell 2: 2 top-level statement(s) that only run code (calls, loops, prints) were not exported",
        "cell 3: 1 top-level statement(s) that only run code (calls, loops, prints) were not exported",
        "cell 4: syntax error on line 1: invalid syntax; cell left out",
    ]


def test_outputs_are_plain_text_without_colours_and_capped():
    executed = {"cells": [
        {"cell_type": "markdown", "source": "x"},
        {"cell_type": "code", "execution_count": 1, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["hello\n"]},
            {"output_type": "execute_result", "data": {"text/plain": "42", "text/html": "<b>42</b>"}},
            {"output_type": "display_data", "data": {"image/png": "iVBOR"}},
        ]},
        {"cell_type": "code", "execution_count": 2, "outputs": [
            {"output_type": "error", "ename": "ValueError", "evalue": "no", "traceback": ["\x1b[31mValueError\x1b[0m: no"]},
        ]},
        {"cell_type": "code", "execution_count": 3, "outputs": [{"output_type": "stream", "text": "x" * 10_000}]},
    ]}
    cells = sfnotebook.outputs(executed, cap=6000)
    assert cells[0] == {"cell": 1, "execution_count": 1, "text": "hello\n42\n[image/png output not shown]"}
    assert cells[1]["text"] == "ValueError: no"  # no ANSI escapes, no HTML
    assert cells[2]["text"].startswith("x" * 4000) and "more characters" in cells[2]["text"]
    assert len(sfnotebook.outputs(executed, cap=50)[2]["text"]) < 100  # the whole document is capped too


# -- intake ---------------------------------------------------------------------------------

LIMITS = SubmissionLimits(max_files=5, max_bytes=100_000, max_file_bytes=50_000, max_upload_bytes=50_000)


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "is not a valid Jupyter notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "is not a valid Jupyter notebook"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                 "cells": [{"cell_type": "code", "source": "x", "metadata": {}}]}).encode(),
     "is not a valid Jupyter notebook (nbformat 4)"),
    (b"\xff\xfe", "is not UTF-8 text"),
    (notebook("x = '" + "a" * 60_000 + "'"), "the limit is 50000"),
])
def test_bad_notebooks_are_refused_with_a_message(tmp_path, data, message):
    with pytest.raises(SubmissionRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        accept_upload("work.ipynb", data, tmp_path / "dest", LIMITS)
    assert not (tmp_path / "dest").exists()


def test_a_valid_notebook_is_accepted_alone(tmp_path):
    accept_upload("My Work.ipynb", notebook("def answer():\n    return 42\n"), tmp_path / "dest", LIMITS)
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["My Work.ipynb"]


def test_lab_spec_reads_the_notebook_table(tmp_path):
    lab = load_lab(LAB)
    assert lab.notebook is not None
    assert (lab.notebook.modules, lab.notebook.cell_seconds, lab.notebook.total_seconds) == (("answer.py",), 3, 20)


# -- in a real sandbox ----------------------------------------------------------------------


def submit(tmp_path: Path, data: bytes, name: str = "work.ipynb") -> Path:
    dest = tmp_path / "submission"
    accept_upload(name, data, dest, load_lab(LAB).submission)
    return dest


@pytest.mark.slow
def test_a_notebook_is_executed_and_graded_through_its_definitions(tmp_path, runner):
    lab = load_lab(LAB)
    sub = submit(tmp_path, notebook(
        "%time x = 1\nimport os\n",
        "def answer():\n    return 40 + 2\n\nprint('hello from', os.getuid())\nanswer()\n",
        "raise ValueError('a later cell fails')\n",
        "print('never runs')\n",
    ))
    report = grade(lab, sub, runner=runner)
    validate(report.to_dict())
    assert report.score == 1.0, report.to_json(indent=2)
    nb = report.run.notebook
    assert nb is not None and (nb["status"], nb["module"], nb["notebook"]) == ("error", "answer.py", "work.ipynb")
    texts = [c["text"] for c in nb["cells"]]
    assert "hello from 1002" in texts[1] and "42" in texts[1]  # ran as the learner, not the driver
    assert "ValueError: a later cell fails" in texts[2]
    assert texts[3] == "" and nb["cells"][3]["execution_count"] is None
    assert any("not exported" in n for n in nb["notes"])


@pytest.mark.slow
def test_a_cell_that_never_ends_is_stopped_and_the_rest_still_graded(tmp_path, runner):
    lab = load_lab(LAB)
    sub = submit(tmp_path, notebook("def answer():\n    return 42\n", "while True:\n    pass\n"))
    report = grade(lab, sub, runner=runner)
    assert report.run.notebook is not None and report.run.notebook["status"] == "cell_timeout"
    assert report.score == 1.0
    assert report.run.wall_seconds < lab.limits.wall_seconds


@pytest.mark.slow
def test_a_notebook_cannot_make_the_driver_read_its_files(tmp_path, runner):
    """The executed copy is learner-written: a symlink to the driver's files is refused."""
    lab = load_lab(LAB)
    sub = submit(tmp_path, notebook(
        "import os\nos.symlink('/grader/driver.py', '/work/.sf-executed.ipynb')\n"
        "os.symlink('/grader/sfharness.py', '/work/answer.py')\n",
        "def answer():\n    return 42\n",
    ))
    report = grade(lab, sub, runner=runner)
    nb = report.run.notebook
    assert nb is not None and nb["status"] == "error" and nb["cells"] == []
    assert "sfharness" not in report.to_json() and "prepare_workspace" not in report.to_json()
    assert report.score == 1.0  # the module came from the notebook as submitted, not the symlink


@pytest.mark.slow
def test_a_file_submission_to_a_notebook_lab_has_no_notebook_section(tmp_path, runner):
    lab = load_lab(LAB)
    report = grade(lab, lab.solution_dir, runner=runner)
    assert report.score == 1.0 and report.run.notebook is None
    starter = grade(lab, lab.starter_dir, runner=runner)
    assert starter.score == 0.0
