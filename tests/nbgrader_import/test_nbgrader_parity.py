"""import_nbgrader: a lab imported from an nbgrader assignment grades each submission with
nbgrader's own autograde score. Checked against nbgrader itself (installed in the test
environment): generate_assignment makes the release, autograde scores seven students,
and the imported lab grades the same notebooks in a real sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbg_assignment import SOURCE_CELLS, STUDENTS, notebook, student_notebook, write

from graders import accept_upload, grade, load_lab
from graders.nbgrader_import import ImportProblem, build_lab

nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is a test dependency (pyproject [dev])")


def nbgrader(course: Path, *args: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course folder: source notebook, nbgrader's release, every student autograded by nbgrader."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(
        f'c = get_config()\nc.CourseDirectory.course_id = "course"\nc.CourseDirectory.root = {str(root)!r}\n'
        "c.Execute.timeout = 30\n")
    write(root / "source/ps1/ps1.ipynb", notebook(SOURCE_CELLS))
    nbgrader(root, "generate_assignment", "ps1", "--force", "--create")
    release = json.loads((root / "release/ps1/ps1.ipynb").read_text())
    for student in STUDENTS:
        write(root / f"submitted/{student}/ps1/ps1.ipynb", student_notebook(release, student))
    nbgrader(root, "autograde", "ps1", "--force", "--create")
    return root


def nbgrader_scores(course: Path) -> dict[str, float]:
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="course") as gb:
        return {s: gb.find_submission("ps1", s).score / gb.find_submission("ps1", s).max_score for s in STUDENTS}


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    dest = tmp_path_factory.mktemp("labs") / "ps1"
    notes = build_lab(release=course / "release/ps1/ps1.ipynb", source=course / "source/ps1/ps1.ipynb",
                      dest=dest, slug="ps1")
    assert any("Manually graded cells (why)" in n for n in notes)
    return load_lab(dest)


def test_the_imported_lab_mirrors_the_assignment(lab):
    assert lab.slug == "ps1" and lab.editable == ("ps1.ipynb",) and "nbgrader" in lab.tags
    assert [(c.id, c.kind, c.weight) for c in lab.checks] == [
        ("test_squares", "points", 2), ("test_tokens", "points", 3), ("test_cost", "points", 2), ("why", "points", 1)]
    starter = (lab.starter_dir / "ps1.ipynb").read_text()
    assert "NotImplementedError" in starter and "HIDDEN" not in starter  # the learner gets the release
    assignment = json.loads((lab.driver_dir / "assignment.json").read_text())
    assert "squares(0) == []" in assignment["cells"]["test_squares"]["source"]  # hidden tests stay driver-side


@pytest.mark.slow
def test_scores_equal_nbgrader_autograde_for_every_student(course, lab, bwrap_runner, tmp_path):
    expected = nbgrader_scores(course)
    # the students span the range: full marks (but for the manual cell), nothing, partial credit
    assert expected["perfect"] == 7 / 8 and expected["blank"] == 0
    assert 0 < expected["partial"] < expected["perfect"]
    got = {}
    for student in STUDENTS:
        folder = tmp_path / student
        data = (course / f"submitted/{student}/ps1/ps1.ipynb").read_bytes()
        accept_upload("ps1.ipynb", data, folder, lab.submission)
        report = grade(lab, folder, runner=bwrap_runner)
        assert report.run.termination == "ok", report.run
        got[student] = report.score
    assert got == {s: round(v, 4) for s, v in expected.items()}, (got, expected)


@pytest.mark.slow
def test_the_solution_earns_every_automatic_point_on_docker(lab, docker_runner):
    report = grade(lab, lab.solution_dir, runner=docker_runner)
    by_id = {c.id: c for c in report.checks}
    assert all(by_id[i].status == "pass" for i in ("test_squares", "test_tokens", "test_cost"))
    assert by_id["why"].status == "error" and "Needs grading by a person" in by_id["why"].message
    assert report.run.notebook is not None and report.run.notebook["status"] == "ok"


def test_import_refuses_what_is_not_an_assignment(tmp_path, course):
    plain = write(tmp_path / "plain.ipynb", notebook([{"cell_type": "code", "metadata": {}, "source": "x = 1",
                                                      "outputs": [], "execution_count": None}]))
    with pytest.raises(ImportProblem, match="no autograder test cell"):
        build_lab(release=plain, dest=tmp_path / "lab", slug="plain")
    (tmp_path / "broken.ipynb").write_text("{nope")
    with pytest.raises(ImportProblem, match="is not a valid Jupyter notebook"):
        build_lab(release=tmp_path / "broken.ipynb", dest=tmp_path / "lab", slug="broken")
    with pytest.raises(ImportProblem, match="use lowercase"):
        build_lab(release=course / "release/ps1/ps1.ipynb", dest=tmp_path / "lab", slug="Bad Slug")
    assert not (tmp_path / "lab").exists()


def test_the_command_writes_and_publishes_the_lab(course, tmp_path, db, settings):
    from django.core.management import call_command

    from catalog.models import Lab

    settings.SKILLFORGE_DATA_DIR = tmp_path / "data"
    call_command("import_nbgrader", str(course / "release/ps1/ps1.ipynb"), "--source", str(course / "source/ps1/ps1.ipynb"),
                 "--labs", str(tmp_path / "labs"), "--publish", "--pass-bar", "0.5")
    lab = Lab.objects.get(slug="ps1")
    assert lab.current_version.load_spec().pass_bar == 0.5
    shutil.rmtree(tmp_path / "labs")
