"""Authoring use-cases: drafts, validation and publishing. Views and tasks call these.

    create_draft(owner=, slug=, title=)        -> LabDraft from the skeleton
    import_draft(owner=, data=, draft=None)    -> LabDraft from an uploaded zip (new, or replacing a draft's files)
    draft_for_lab(user=, lab=)                 -> the lab's draft, made from its current version if none
    start_validation(draft=, user=)            -> ValidationRun, queued (the draft copied as it is now)
    run_validation(run_id=)                    -> what the Celery task runs: labcheck's proofs in the sandbox
    publish(draft=, user=)                     -> catalog Imported; refused unless the latest validation is green
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

import sandbox
from catalog.models import Lab
from catalog.services import Imported, LabImportError, import_labs
from graders import GradingError, LabSpecError, SubmissionRejected, load_lab
from graders.hashing import tree_hash
from submissions.labcheck import check_lab
from submissions.services import grade_path

from . import bundles, drafts, labtoml
from .access import can_edit_lab
from .drafts import AuthoringError
from .models import LabDraft, RunStatus, ValidationRun

log = logging.getLogger("skillforge.authoring")

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
QUEUE_DOWN = "The validation could not be queued (the task queue did not answer). Try again in a minute."
UNEXPECTED = "Validation failed because of a problem on our side; it has been logged. Try again."


# --- drafts --------------------------------------------------------------------------------


def check_slug(*, slug: str, user: Any, draft: LabDraft | None = None) -> None:
    if not SLUG.match(slug or ""):
        raise AuthoringError(f"{slug!r} is not a usable slug: 2-63 lowercase letters, digits and '-'.")
    lab = Lab.objects.filter(slug=slug).first()
    if lab is not None and not can_edit_lab(user, lab):
        raise AuthoringError(f"The slug {slug!r} belongs to a lab you do not own; choose another.")
    other = LabDraft.objects.filter(slug=slug).exclude(pk=getattr(draft, "pk", None)).first()
    if other is not None:
        whose = "you already have" if other.owner_id == user.pk else "another instructor has"
        raise AuthoringError(f"{whose.capitalize()} a draft of {slug!r}; open it instead of starting another.")


def _new_draft(*, owner: Any, slug: str, lab: Lab | None = None, base_hash: str = "") -> LabDraft:
    try:
        with transaction.atomic():
            return LabDraft.objects.create(owner=owner, slug=slug, lab=lab, base_hash=base_hash)
    except IntegrityError:
        raise AuthoringError(f"A draft of {slug!r} was just started; open it from your labs.") from None


def create_draft(*, owner: Any, slug: str, title: str) -> LabDraft:
    check_slug(slug=slug, user=owner)
    if Lab.objects.filter(slug=slug).exists():
        raise AuthoringError(f"A lab {slug!r} is published already: open it and press Edit, or choose another slug.")
    draft = _new_draft(owner=owner, slug=slug)
    for name, data in labtoml.skeleton(slug=slug, title=title).items():
        drafts.write_file(draft, "lab", name, data)
    for name, data in labtoml.WRONG_SKELETON.items():
        drafts.write_file(draft, "wrong", name, data)
    log.info("draft %s of %s created by %s", draft.pk, slug, owner)
    return draft


def _checked_bundle(data: bytes) -> tuple[bundles.Bundle, str]:
    """The zip's lab, loaded as the platform will in a scratch folder; every problem is an AuthoringError."""
    bundle = bundles.read_bundle(data)
    scratch = drafts_root() / f".check-{uuid.uuid4().hex}"
    try:
        bundles.write_bundle(bundle, lab_dir=scratch / "lab", wrong_dir=scratch / "wrong")
        spec, problems = drafts.lint_folder(scratch / "lab")
        if problems:
            raise AuthoringError("; ".join(str(p) for p in problems))
        assert spec is not None
        return bundle, spec.slug
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def drafts_root() -> Any:
    from .models import authoring_dir

    root = authoring_dir() / "drafts"
    root.mkdir(parents=True, exist_ok=True)
    return root


def import_draft(*, owner: Any, data: bytes, draft: LabDraft | None = None) -> LabDraft:
    bundle, slug = _checked_bundle(data)
    if draft is not None and slug != draft.slug:
        raise AuthoringError(f"lab.toml: slug: the zip is the lab {slug!r}, this draft is {draft.slug!r}.")
    if draft is None:
        check_slug(slug=slug, user=owner)
        draft = _new_draft(owner=owner, slug=slug, lab=Lab.objects.filter(slug=slug).first())
    bundles.write_bundle(bundle, lab_dir=draft.lab_dir, wrong_dir=draft.wrong_dir)
    touch(draft)
    log.info("draft %s of %s: files replaced from a zip by %s", draft.pk, slug, owner)
    return draft


def draft_for_lab(*, user: Any, lab: Lab) -> LabDraft:
    """The lab's draft; a new one copied from the current version (and the repo's wrong_* solutions) if none."""
    existing = LabDraft.objects.filter(slug=lab.slug).first()
    if existing is not None:
        if existing.owner_id != user.pk and not user.is_staff:
            raise AuthoringError(f"Another instructor has a draft of {lab.slug!r}.")
        return existing
    if not can_edit_lab(user, lab) or lab.current_version is None:
        raise AuthoringError(f"You cannot edit {lab.slug!r}.")
    version = lab.current_version
    draft = _new_draft(owner=user, slug=lab.slug, lab=lab, base_hash=version.content_hash)
    drafts.copy_tree(version.snapshot_dir, draft.lab_dir)
    draft.wrong_dir.mkdir(parents=True, exist_ok=True)
    repo_wrong = settings.SKILLFORGE_LAB_TESTS_DIR / lab.slug
    for folder in sorted(repo_wrong.glob("wrong_*")) if repo_wrong.is_dir() else []:
        if folder.is_dir():
            drafts.copy_tree(folder, draft.wrong_dir / folder.name)
    return draft


def touch(draft: LabDraft) -> None:
    LabDraft.objects.filter(pk=draft.pk).update(updated_at=timezone.now())


def draft_hashes(draft: LabDraft) -> tuple[str, str]:
    draft.lab_dir.mkdir(parents=True, exist_ok=True)
    draft.wrong_dir.mkdir(parents=True, exist_ok=True)
    return tree_hash(draft.lab_dir), tree_hash(draft.wrong_dir)


def delete_draft(*, draft: LabDraft) -> None:
    folder = draft.folder
    for run in draft.validations.all():
        shutil.rmtree(run.folder, ignore_errors=True)
    draft.delete()
    shutil.rmtree(folder, ignore_errors=True)


# --- validation ----------------------------------------------------------------------------


def start_validation(*, draft: LabDraft, user: Any) -> ValidationRun:
    """Copy the draft as it is now and queue its validation. AuthoringError where the lab does not load."""
    spec, problems = drafts.lint_draft(draft)
    if problems or spec is None:
        raise AuthoringError("Fix these first: " + "; ".join(str(p) for p in problems))
    lab_hash, wrong_hash = draft_hashes(draft)
    for old in draft.validations.filter(status__in=[RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR]):
        shutil.rmtree(old.folder, ignore_errors=True)  # superseded: publishing uses only the latest run
    with transaction.atomic():
        run = ValidationRun.objects.create(draft=draft, requested_by=user, lab_hash=lab_hash, wrong_hash=wrong_hash)
        drafts.copy_tree(draft.lab_dir, run.folder / "lab")
        drafts.copy_tree(draft.wrong_dir, run.folder / "wrong")
        if tree_hash(run.folder / "lab") != lab_hash:
            raise AuthoringError("The draft changed while it was being copied; press Validate again.")
        transaction.on_commit(partial(enqueue_validation, run_id=run.pk, queue=spec.queue))
    log.info("validation %s of draft %s (%s) queued", run.pk, draft.slug, lab_hash)
    return run


def enqueue_validation(*, run_id: int, queue: str, connection: Any = None) -> None:
    """Send the run to its queue (on commit). If the broker is down, say so on the run."""
    from .tasks import validate_draft

    try:
        validate_draft.apply_async(args=[run_id], queue=queue, connection=connection)
    except Exception:
        log.exception("validation %s could not be queued", run_id)
        ValidationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.ERROR, message=QUEUE_DOWN, finished_at=timezone.now())


_TRACEBACK = re.compile(r'File "/grader/([^"]+)", line (\d+)')


def where(text: str) -> str:
    """checks/driver/<file>, line N: the last frame of the lab's driver a traceback names."""
    frames = _TRACEBACK.findall(text)
    if not frames:
        return ""
    name, line = frames[-1]
    return f"checks/driver/{name}, line {line}"


def _explain_solution(spec: Any) -> list[dict[str, Any]]:
    """Which checks the reference solution fails, and why (one more grading; only when it falls short)."""
    try:
        report = grade_path(lab=spec, path=spec.solution_dir)
    except (SubmissionRejected, GradingError, sandbox.SandboxUnavailable) as exc:
        return [{"ok": False, "text": f"solution: {exc}", "where": where(str(exc))}]
    facts = []
    for check in report.checks:
        if check.status != "pass":
            facts.append({"ok": False, "text": f"solution fails check {check.id!r} ({check.status}): {check.message}",
                          "where": f"checks/checks.toml, check {check.id!r}"})
    if report.run.learner_log:
        facts.append({"ok": False, "text": f"solution's output: {report.run.learner_log[-600:]}", "where": ""})
    return facts


def run_validation(*, run_id: int) -> ValidationRun | None:
    """Claim the run (queued -> running, one conditional UPDATE), prove the lab, store the facts."""
    won = ValidationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now())
    if not won:
        log.info("validation %s: not queued any more; nothing to do", run_id)
        return None
    run = ValidationRun.objects.get(pk=run_id)
    try:
        spec = load_lab(run.folder / "lab")
        if spec.content_hash != run.lab_hash:
            raise AuthoringError(f"the copy to validate no longer matches {run.lab_hash}")
        facts = []
        for fact in check_lab(spec, wrong_dir=run.folder / "wrong"):
            facts.append({"ok": fact.ok, "text": fact.text, "where": where(fact.text)})
            if not fact.ok and fact.text.startswith("solution scores"):
                facts.extend(_explain_solution(spec))
        status = RunStatus.PASSED if facts and all(f["ok"] for f in facts) else RunStatus.FAILED
        message = "" if status == RunStatus.PASSED else "Publishing stays locked until every line is green."
    except (LabSpecError, AuthoringError) as exc:
        facts, status, message = [], RunStatus.ERROR, str(exc)
    except Exception:
        log.exception("validation %s: unexpected failure", run_id)
        facts, status, message = [], RunStatus.ERROR, UNEXPECTED
    ValidationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=status, facts=facts, message=message, finished_at=timezone.now())
    log.info("validation %s of %s: %s", run_id, run.draft.slug if run.draft_id else "?", status)
    return ValidationRun.objects.get(pk=run_id)


# --- publishing ----------------------------------------------------------------------------


def publish_blocker(draft: LabDraft) -> tuple[str, ValidationRun | None]:
    """Why the draft cannot be published now ('' when it can), and the run that would be published."""
    run = draft.validations.order_by("-created_at", "-id").first()
    if run is None:
        return "Validate the draft first: publishing needs a green validation.", None
    lab_hash, wrong_hash = draft_hashes(draft)
    if (run.lab_hash, run.wrong_hash) != (lab_hash, wrong_hash):
        return "The draft changed since its last validation; validate it again.", run
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return "Validation is still running.", run
    if run.status != RunStatus.PASSED:
        return "The last validation is not green; fix what it found and validate again.", run
    return "", run


def publish(*, draft: LabDraft, user: Any) -> Imported:
    """Publish exactly the files the green validation checked, as an immutable LabVersion."""
    blocker, run = publish_blocker(draft)
    if blocker:
        raise AuthoringError(blocker)
    assert run is not None
    lab = Lab.objects.filter(slug=draft.slug).first()
    if lab is not None and not can_edit_lab(user, lab):
        raise AuthoringError(f"The lab {draft.slug!r} belongs to someone else.")
    try:
        with transaction.atomic():
            (imported,) = import_labs(path=run.folder / "lab")
            if imported.content_hash != run.lab_hash:
                raise AuthoringError("The validated copy changed on disk; validate again.")
            created = lab is None
            lab = Lab.objects.get(slug=draft.slug)
            if created:
                Lab.objects.filter(pk=lab.pk, owner__isnull=True).update(owner=draft.owner)
            LabDraft.objects.filter(pk=draft.pk).update(lab=lab, base_hash=imported.content_hash)
    except (LabSpecError, LabImportError) as exc:
        raise AuthoringError(str(exc)) from None
    log.info("draft %s published as %s %s (new version: %s)", draft.slug, imported.version, imported.content_hash,
             imported.new_version)
    return imported
