"""Re-grade a credential's evidence: the same lab version and submission (by content hash), a fresh sandbox.

The credential pins the graded report by digest; the report names the lab version's and
the submission's content hashes. We find both (the lab version's snapshot and the stored
submission files, each re-hashed), grade them again with the workers' pipeline, and
compare the new report's bytes with the pinned digest.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.urls import reverse

import sandbox
from catalog.models import LabVersion
from catalog.snapshots import SnapshotError
from graders import GradingError
from graders.hashing import tree_hash

from . import documents

log = logging.getLogger("skillforge.credentials")


@dataclass
class Regrade:
    status: str  # pass | fail | skip
    message: str
    code: str = ""
    pinned: str = ""
    new_digest: str = ""
    seconds: float = 0.0
    report: dict[str, Any] | None = None


def _pinned_sri(document: dict[str, Any], report_url: str) -> str:
    evidence = document.get("evidence")
    for item in evidence if isinstance(evidence, list) else [evidence]:
        if isinstance(item, dict) and item.get("id") == report_url and isinstance(item.get("digestSRI"), str):
            return item["digestSRI"]
    return ""


def regrade(document: dict[str, Any]) -> Regrade:
    """Never raises for bad input: every outcome is a Regrade with a status and a message."""
    from submissions.services import run_grading

    from .verification import our_credential_by_id

    credential = our_credential_by_id(document.get("id"))
    if credential is None:
        return Regrade("skip", "Only credentials this platform issued can be re-graded here: it keeps their submissions.",
                       "not_ours")
    report_url = documents.public_url(reverse("credential_report", args=[credential.id]))
    pinned = _pinned_sri(document, report_url)
    if not pinned:
        return Regrade("fail", "The credential pins no graded report by digest, so there is nothing to compare.",
                       "no_evidence")
    try:
        report = json.loads(credential.report_bytes)
        lab_hash, submission_hash = report["lab"]["content_hash"], report["submission_hash"]
    except (ValueError, KeyError, TypeError):
        return Regrade("fail", "The stored report cannot be read.", "report_unreadable", pinned)
    version = LabVersion.objects.filter(content_hash=lab_hash).first()
    if version is None:
        return Regrade("fail", f"The lab version {lab_hash} is not published here any more.", "lab_missing", pinned)
    try:
        spec = version.load_spec()
    except SnapshotError as exc:
        return Regrade("fail", f"The lab version's files are missing or changed: {exc}", "lab_missing", pinned)
    if credential.attempt is None:  # its holder deleted their account, and their submissions with it
        return Regrade("fail", "The submission is no longer stored: its holder deleted their account.",
                       "submission_missing", pinned)
    submission = credential.attempt.submission
    files = submission.files_dir
    if submission.content_hash != submission_hash or not files.is_dir() or tree_hash(files) != submission_hash:
        return Regrade("fail", f"The submission {submission_hash} is no longer stored intact.", "submission_missing", pinned)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sf-regrade-") as tmp:
        copy = Path(tmp) / "submission"
        shutil.copytree(files, copy, symlinks=True)
        try:
            new = run_grading(lab=spec, submission_dir=copy)
        except (GradingError, sandbox.SandboxUnavailable) as exc:
            return Regrade("fail", f"The re-grade could not run: {exc}", "regrade_error", pinned)
    seconds = time.monotonic() - started
    new_sri = documents.sri(new.canonical_bytes())
    log.info("credential %s re-graded in %.1f s: %s", credential.id, seconds, "same" if new_sri == pinned else "DIFFERENT")
    if new_sri == pinned:
        return Regrade("pass", f"Re-graded in a fresh {new.run.backend} sandbox in {seconds:.1f} s: the new report's "
                               f"bytes match the pinned digest ({new.digest}), score {new.score:g}.",
                       pinned=pinned, new_digest=new.digest, seconds=seconds, report=new.to_dict())
    return Regrade("fail", f"Re-graded in a fresh {new.run.backend} sandbox: the new report ({new.digest}, score "
                           f"{new.score:g}) differs from the pinned one.", "regrade_mismatch",
                   pinned=pinned, new_digest=new.digest, seconds=seconds, report=new.to_dict())
