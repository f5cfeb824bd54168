"""Grading: lab specs, the pipeline, check kinds and the report. No Django import.

    lab = load_lab(Path("labs/async-python"))
    report = grade(lab, submission_dir, runner=sandbox.backend()[1])
"""

from .intake import SubmissionRejected, accept_files, accept_folder, accept_path, accept_upload, accept_zip
from .labspec import CheckSpec, LabSpec, LabSpecError, SubmissionLimits, load_lab
from .pipeline import GradingError, grade
from .report import GRADER_VERSION, CheckResult, GradeReport, RunFacts

__all__ = [
    "GRADER_VERSION",
    "CheckResult",
    "CheckSpec",
    "GradeReport",
    "GradingError",
    "LabSpec",
    "LabSpecError",
    "RunFacts",
    "SubmissionLimits",
    "SubmissionRejected",
    "accept_files",
    "accept_folder",
    "accept_path",
    "accept_upload",
    "accept_zip",
    "grade",
    "load_lab",
]
