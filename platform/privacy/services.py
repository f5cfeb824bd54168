"""A learner's data: export all of it, or delete the account.

    export_document(user=)   -> dict: everything we hold about the account, as JSON-ready data
    export_archive(user=)    -> bytes: a zip of data.json plus their files (submissions, drafts, credentials)
    delete_account(user=)    -> Deletion: what was removed and which credentials were revoked

Deletion removes the account and everything hanging off it (profile, tokens, submissions,
attempts, their files, drafts, portfolio, LTI identities). Issued credentials cannot be
unsent: each is revoked with the reason "holder deleted account", so a copy the learner
handed out still verifies, as revoked; the stored row keeps only what the status list and
that answer need (id, status index, lab version, dates, digests) and loses the signed
document, the JWT and the report, which name the learner.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from .models import AuditAction, AuditEvent

log = logging.getLogger("skillforge.privacy")

HOLDER_DELETED = "holder deleted account"
MAX_EXPORT_FILE_BYTES = 64 * 1024 * 1024  # a stored file bigger than this (none should be) is listed, not copied


class DeletionRefused(Exception):
    """The account cannot be deleted by its holder; the message says why and what to do."""


@dataclass
class Deletion:
    submissions: int = 0
    drafts: int = 0
    revoked: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- export -------------------------------------------------------------------------------------------------


def export_document(*, user: Any) -> dict[str, Any]:
    from accounts.models import ApiToken, Profile
    from authoring.models import LabDraft
    from credentials.models import Credential
    from learning.models import Draft
    from portfolios.models import Portfolio
    from submissions.models import Submission

    profile = Profile.objects.filter(user=user).first()
    portfolio = Portfolio.objects.filter(user=user).prefetch_related("labs__lab").first()
    submissions = (Submission.objects.filter(learner=user).select_related("lab_version__lab")
                   .prefetch_related("attempts__overrides").order_by("created_at"))
    return {
        "format": "skillforge-export/1",
        "exported_at": timezone.now().isoformat(),
        "account": {
            "id": user.pk, "username": user.get_username(), "email": user.email,
            "first_name": user.first_name, "last_name": user.last_name,
            "date_joined": _iso(user.date_joined), "last_login": _iso(user.last_login),
            "role": profile.role if profile else None,
        },
        "api_tokens": [
            {"name": t.name, "prefix": t.prefix, "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at)}
            for t in ApiToken.objects.filter(user=user)
        ],
        "portfolio": None if portfolio is None else {
            "handle": portfolio.handle, "public": portfolio.public, "display_name": portfolio.display_name,
            "headline": portfolio.headline, "private_identity": portfolio.private_identity,
            "labs": [{"lab": v.lab.slug, "visible": v.visible, "publish_code": v.publish_code}
                     for v in portfolio.labs.all()],
        },
        "submissions": [
            {
                "id": str(s.id), "lab": s.lab_version.lab.slug, "lab_version": s.lab_version.version,
                "source": s.source, "status": s.status, "message": s.message, "content_hash": s.content_hash,
                "created_at": _iso(s.created_at), "files": f"submissions/{s.id}/",
                "attempts": [
                    {"status": a.status, "message": a.message, "queued_at": _iso(a.queued_at),
                     "started_at": _iso(a.started_at), "finished_at": _iso(a.finished_at), "score": a.score,
                     "passed": a.passed, "digest": a.digest, "report": a.report,
                     "overrides": [{"at": _iso(o.created_at), "from_score": o.from_score, "to_score": o.to_score,
                                    "to_passed": o.to_passed, "reason": o.reason} for o in a.overrides.all()]}
                    for a in sorted(s.attempts.all(), key=lambda a: a.queued_at)
                ],
            }
            for s in submissions
        ],
        "drafts": [
            {"lab": d.lab.slug, "updated_at": _iso(d.updated_at), "files": d.files}
            for d in Draft.objects.filter(learner=user).select_related("lab")
        ],
        "credentials": [
            {"id": str(c.id), "lab": c.lab_version.lab.slug, "issued_at": _iso(c.issued_at),
             "score": c.score, "revoked_at": _iso(c.revoked_at), "revocation_reason": c.revocation_reason,
             "document": f"credentials/{c.id}.json", "jwt": f"credentials/{c.id}.jwt"}
            for c in Credential.objects.filter(learner=user).select_related("lab_version__lab")
        ],
        "authored_lab_drafts": [
            {"id": str(d.id), "slug": d.slug, "created_at": _iso(d.created_at), "updated_at": _iso(d.updated_at),
             "files": f"lab-drafts/{d.id}/"}
            for d in LabDraft.objects.filter(owner=user)
        ],
        "lti_identities": [
            {"sub": u.sub, "name": u.name, "given_name": u.given_name, "family_name": u.family_name,
             "email": u.email, "registration": u.registration.name}
            for u in _lti_users(user).select_related("registration")
        ],
        "audit": [
            {"action": e.action, "at": _iso(e.at), "details": e.details}
            for e in AuditEvent.objects.filter(actor=user)
        ],
    }


def _lti_users(user: Any) -> Any:
    from lti_tool.models import LtiUser

    return LtiUser.objects.filter(auth_user=user)


def _add_tree(archive: zipfile.ZipFile, root: Path, prefix: str) -> None:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue  # stored trees hold none; never follow one out of the folder
        name = f"{prefix}{path.relative_to(root).as_posix()}"
        if path.stat().st_size > MAX_EXPORT_FILE_BYTES:
            archive.writestr(name + ".TOO-LARGE.txt", f"{path.stat().st_size} bytes: ask support for this file.\n")
            continue
        archive.write(path, name)


def export_archive(*, user: Any) -> bytes:
    """data.json, then the files: each submission's stored files, drafts, credentials as issued, lab drafts."""
    from authoring.models import LabDraft
    from credentials.models import Credential
    from submissions.models import Submission

    document = export_document(user=user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True))
        archive.writestr("README.txt", EXPORT_README)
        for submission in Submission.objects.filter(learner=user).only("id"):
            _add_tree(archive, submission.files_dir, f"submissions/{submission.id}/")
        for draft in document["drafts"]:
            for name, text in draft["files"].items():
                archive.writestr(f"drafts/{draft['lab']}/{name}", text)
        for credential in Credential.objects.filter(learner=user):
            if credential.document:
                archive.writestr(f"credentials/{credential.id}.json", credential.document)
            if credential.jwt:
                archive.writestr(f"credentials/{credential.id}.jwt", credential.jwt)
        for lab_draft in LabDraft.objects.filter(owner=user):
            _add_tree(archive, lab_draft.folder, f"lab-drafts/{lab_draft.id}/")
    AuditEvent.objects.create(action=AuditAction.EXPORT, actor=user,
                              details={"submissions": len(document["submissions"]),
                                       "credentials": len(document["credentials"])})
    return buffer.getvalue()


EXPORT_README = """Your SkillForge data.

data.json               your account, tokens (names only), portfolio settings, every submission with
                        its attempts and graded reports, drafts, credentials, LTI identities, audit events
submissions/<id>/       the files of each submission, as stored
drafts/<lab>/           your editor drafts
credentials/<id>.json   each credential exactly as issued (and .jwt): verify them at /verify/
lab-drafts/<id>/        labs you were authoring (instructors)
"""


# --- deletion -----------------------------------------------------------------------------------------------


def delete_account(*, user: Any) -> Deletion:
    """Delete the account and its data; revoke its credentials. Files go after the database commits."""
    from authoring.models import LabDraft
    from credentials import services as credentials
    from credentials.models import Credential
    from learning.models import Draft
    from submissions.models import Submission

    if user.is_superuser:
        raise DeletionRefused("A superuser account cannot delete itself here: another administrator removes it.")
    outcome = Deletion()
    with transaction.atomic():
        held = list(Credential.objects.select_for_update().filter(learner=user))
        for credential in held:
            if credential.revoked_at is None:
                credentials.revoke(credential=credential, reason=HOLDER_DELETED)
                outcome.revoked.append(str(credential.id))
        # What stays is what the status list and a verifier need; nothing that names the holder.
        Credential.objects.filter(pk__in=[c.pk for c in held]).update(
            learner=None, attempt=None, document="", jwt="", report_bytes="")
        submissions = list(Submission.objects.filter(learner=user).only("id"))
        outcome.submissions = len(submissions)
        outcome.folders += [s.files_dir for s in submissions]
        outcome.drafts = Draft.objects.filter(learner=user).count()
        outcome.folders += [d.folder for d in LabDraft.objects.filter(owner=user)]
        _lti_users(user).delete()
        _scrub_admin_log(user)
        actor_id = user.pk
        try:
            with transaction.atomic():
                user.delete()
        except ProtectedError:
            raise DeletionRefused(
                "Your account made audited grade overrides, which must keep their author: ask staff to delete "
                "this account after reassigning them.") from None
        AuditEvent.objects.create(action=AuditAction.ACCOUNT_DELETED, details={
            "submissions": outcome.submissions, "drafts": outcome.drafts, "credentials_revoked": outcome.revoked,
        })
        transaction.on_commit(lambda: _remove_folders(outcome.folders))
    log.info("an account was deleted (was id %s): %s submissions, %s credentials revoked",
             actor_id, outcome.submissions, len(outcome.revoked))
    return outcome


def _scrub_admin_log(user: Any) -> None:
    """Admin history rows about this account keep the action and time, not the name or the changes."""
    ctype = ContentType.objects.get_for_model(get_user_model())
    LogEntry.objects.filter(content_type=ctype, object_id=str(user.pk)).update(
        object_repr="(deleted account)", change_message="")


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(folder.with_name(f".incoming-{folder.name}"), ignore_errors=True)
