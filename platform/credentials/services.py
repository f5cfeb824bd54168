"""Issuing and revoking credentials, and the signed status list.

    issue_for_attempt(attempt=)       -> Credential (idempotent: one per passing attempt)
    revoke(credential=, reason=)      -> Credential, and the status list is re-signed
    status_list_document()            -> the signed BitstringStatusListCredential (JSON text)
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from graders.hashing import bytes_hash
from graders.report import canonical

from . import documents, keys, proofs
from .models import STATUS_LIST_SIZE, Credential, StatusList

log = logging.getLogger("skillforge.credentials")

JWT_TYPE = "vc+jwt"  # VC-JOSE-COSE: the payload is the credential itself


class IssueError(RuntimeError):
    """A credential cannot be issued for this attempt (not passed, or its stored report no longer matches)."""


def report_bytes(report: dict[str, Any]) -> bytes:
    """The exact bytes a report's digest covers: its hashed part (everything but `digest` and `run`), canonical JSON."""
    return canonical({k: v for k, v in report.items() if k not in ("digest", "run")})


def _subject_facts(learner: Any) -> documents.SubjectFacts:
    from portfolios.models import Portfolio  # portfolios depends on credentials, not the other way round

    portfolio = Portfolio.objects.filter(user=learner).first()
    name = (portfolio.display_name if portfolio else "") or learner.get_full_name() or learner.get_username()
    return documents.SubjectFacts(
        name=name,
        email=learner.email or "",
        username=learner.get_username(),
        private=bool(portfolio and portfolio.private_identity),
        salt=portfolio.identity_salt if portfolio else secrets.token_hex(16),
    )


def achievement_facts(version: Any) -> documents.AchievementFacts:
    spec = version.load_spec()
    return documents.AchievementFacts(
        content_hash=version.content_hash, slug=version.lab.slug, title=version.title, summary=version.summary,
        version=version.version, pass_bar=version.pass_bar, brief=version.brief, tags=tuple(spec.tags),
    )


def sign_document(document: dict[str, Any], *, created: str) -> tuple[dict[str, Any], str, str]:
    """(signed document, VC-JWT of the unsecured document, kid) with the active issuer key."""
    entry, private = keys.active_key()
    method = documents.verification_method(entry.kid)
    signed = proofs.sign(document, private_key=private, verification_method=method, created=created)
    token = jwt.encode(document, private, algorithm="EdDSA", headers={"kid": method, "typ": JWT_TYPE, "cty": "vc"})
    return signed, token, entry.kid


def issue_for_attempt(*, attempt: Any, valid_for: timedelta | None = None) -> Credential:
    """The credential for a graded, passed attempt; the existing one if it was issued already."""
    existing = Credential.objects.filter(attempt=attempt).first()
    if existing is not None:
        return existing
    if attempt.status != "graded" or not attempt.passed or not attempt.report:
        raise IssueError(f"attempt {attempt.pk} has not passed; no credential")
    pinned = report_bytes(attempt.report)
    digest = bytes_hash(pinned)
    if digest != attempt.digest:
        raise IssueError(f"attempt {attempt.pk}: the stored report no longer matches its digest {attempt.digest}")
    submission = attempt.submission
    version = submission.lab_version
    if valid_for is None and settings.SKILLFORGE_CREDENTIAL_VALID_DAYS:
        valid_for = timedelta(days=settings.SKILLFORGE_CREDENTIAL_VALID_DAYS)
    issued_at = timezone.now().replace(microsecond=0)
    ach = achievement_facts(version)
    subject = _subject_facts(submission.learner)
    for _ in range(20):  # a random free index: collisions are rare, the unique constraint decides
        credential_id = uuid.uuid4()
        index = secrets.randbelow(STATUS_LIST_SIZE)
        facts = documents.CredentialFacts(
            uuid=str(credential_id), issued_at=issued_at,
            valid_until=issued_at + valid_for if valid_for else None,
            score=float(attempt.score), report_bytes=pinned, report_digest=digest,
            submission_hash=submission.content_hash, grader_version=str(attempt.report.get("grader_version", "")),
            status_index=index,
        )
        signed, token, kid = sign_document(documents.credential(facts, ach, subject), created=documents.iso(issued_at))
        try:
            with transaction.atomic():
                credential = Credential.objects.create(
                    id=credential_id, attempt=attempt, learner=submission.learner, lab_version=version,
                    issued_at=issued_at, valid_until=facts.valid_until, score=facts.score,
                    report_digest=digest, report_bytes=pinned.decode("utf-8"), submission_hash=submission.content_hash,
                    document=documents.dumps(signed), jwt=token, key_id=kid, status_index=index,
                )
        except IntegrityError:
            existing = Credential.objects.filter(attempt=attempt).first()
            if existing is not None:  # another process issued it first
                return existing
            continue  # the status index was taken: draw another
        log.info("attempt %s: issued credential %s", attempt.pk, credential.id)
        return credential
    raise IssueError("no free status list index after 20 draws; the status list is nearly full")


def issue_missing(*, limit: int = 1000) -> list[Credential]:
    """Issue credentials for passed attempts that have none (the grading hook failed, or they predate credentials)."""
    from submissions.models import Attempt

    issued = []
    pending = Attempt.objects.filter(status="graded", passed=True, credential__isnull=True).select_related(
        "submission__lab_version__lab", "submission__learner")[:limit]
    for attempt in pending:
        issued.append(issue_for_attempt(attempt=attempt))
    return issued


def revoke(*, credential: Credential, reason: str) -> Credential:
    reason = reason.strip()
    if not reason:
        raise ValueError("say why the credential is revoked; the reason is shown to whoever verifies it")
    Credential.objects.filter(pk=credential.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revocation_reason=reason[:2000]
    )
    credential.refresh_from_db()
    status_list_document(refresh=True)
    log.info("credential %s revoked: %s", credential.pk, reason)
    return credential


def _revision(revoked: list[int]) -> str:
    return "sha256:" + hashlib.sha256(",".join(map(str, revoked)).encode()).hexdigest()


def status_list_document(*, refresh: bool = False) -> str:
    """The signed status list credential, re-signed only when the revoked set changed."""
    revoked = sorted(Credential.objects.filter(revoked_at__isnull=False).values_list("status_index", flat=True))
    revision = _revision(revoked)
    current = StatusList.objects.filter(purpose="revocation").first()
    if current is not None and current.revision == revision and not refresh:
        return current.document
    now = timezone.now().replace(microsecond=0)
    unsigned = documents.status_list_credential(revoked=revoked, issued_at=now)
    signed, _, _ = sign_document(unsigned, created=documents.iso(now))
    text = documents.dumps(signed)
    StatusList.objects.update_or_create(purpose="revocation", defaults={"revision": revision, "document": text})
    return text
