"""Defence in depth: even a subverted driver (the learner's way in, were one found) gets
nothing but data out. Its result file as a symlink to a host file, a hard link, a FIFO, a
folder, an oversized file, a pickle or a document outside the schema is refused on the
host, and the attempt ends in 'error' with a message, never as a grade or a host read.

Each case publishes a copy of the attack lab whose driver does one bad thing, then
submits an honest main.py through the API and grades it on both backends.
"""

from __future__ import annotations

import shutil

import pytest
from security_support import ATTACK_LAB, PWNED

pytestmark = pytest.mark.django_db

PRELUDE = '''import json, os, pickle, sys
sys.path.insert(0, "/grader")
import sfharness as h
OUT = "/out/observations.json"
GOOD = {"answers": ["x"], "clean_exit": True, "first_line": "x"}
'''

ROGUE = {
    "symlink_to_host_file": 'os.symlink("/etc/passwd", OUT)',
    "symlink_to_grader_file": 'os.symlink("/grader/driver.py", OUT)',
    "hard_link": 'h.emit(GOOD)\nos.link(OUT, "/out/second-name.json")',
    "fifo": "os.mkfifo(OUT)",
    "folder": "os.mkdir(OUT)",
    "oversized": 'json.dump({"observations": {"answers": ["x" * 100_000]}}, open(OUT, "w"))',
    "pickle": (
        "class Evil:\n"
        f"    def __reduce__(self):\n        return (os.system, ('touch /tmp/{PWNED}-unpickled',))\n"
        'open(OUT, "wb").write(pickle.dumps({"observations": Evil()}))'
    ),
    "outside_the_schema": 'json.dump({"observations": {"Bad Key!": 1}, "verdict": "pass", "score": 1.0}, open(OUT, "w"))',
    "not_utf8": 'open(OUT, "wb").write(b"\\xff\\xfe{}")',
}
NO_OBSERVATIONS = "The lab's grader produced no observations (exit 0)."
INVALID = "The lab's grader wrote an invalid observations document"
EXPECTED = {
    "symlink_to_host_file": NO_OBSERVATIONS,
    "symlink_to_grader_file": NO_OBSERVATIONS,
    "hard_link": NO_OBSERVATIONS,
    "fifo": NO_OBSERVATIONS,
    "folder": NO_OBSERVATIONS,
    "oversized": NO_OBSERVATIONS,
    "pickle": INVALID,
    "outside_the_schema": INVALID,
    "not_utf8": INVALID,
}


@pytest.fixture
def rogue_lab(attack_lab, tmp_path):
    """Publish the attack lab again with the driver replaced by `code`; it becomes current."""
    from catalog.services import import_labs

    def publish(code: str) -> None:
        folder = tmp_path / "rogue-lab"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(ATTACK_LAB, folder)
        (folder / "checks" / "driver" / "driver.py").write_text(PRELUDE + code + "\n")
        import_labs(path=folder)

    return publish


@pytest.mark.parametrize("kind", list(ROGUE))
def test_a_subverted_driver_gets_nothing_but_data_out(rogue_lab, attack, backend, kind):
    rogue_lab(ROGUE[kind])
    outcome = attack({"main.py": "print('honest work')\n"})
    attempt = outcome.attempt
    assert attempt.status == "error", outcome.describe()
    assert attempt.message.startswith(EXPECTED[kind]), attempt.message
    assert attempt.report is None and attempt.score is None and attempt.passed is None
    assert "root:x:0:0" not in attempt.message  # /etc/passwd was never read
    assert "sfharness" not in attempt.message or kind == "symlink_to_grader_file"


def test_a_driver_document_with_nan_ends_in_error_not_a_grade(rogue_lab, attack, backend):
    """NaN is not JSON (RFC 8259), but json.loads takes it: today the document passes the schema
    and grading fails later, as 'a problem on our side'. Not a grade, not a stuck attempt; a
    clearer outcome would refuse it as an invalid document (parse_constant that raises)."""
    rogue_lab('open(OUT, "w").write(\'{"observations": {"answers": ["x"], "clean_exit": true, "first_line": NaN}}\')')
    outcome = attack({"main.py": "print('honest work')\n"})
    from submissions.services import UNEXPECTED

    assert outcome.attempt.status == "error" and outcome.attempt.report is None
    assert outcome.attempt.message.startswith(INVALID) or outcome.attempt.message == UNEXPECTED
