"""REST API for submissions (django-ninja): submit a zip or JSON files, poll for the report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db.models import Count
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from ninja import Router, Schema, Status

from catalog.models import Lab
from skillforge import security

from . import live, services
from .models import Attempt, Submission

router = Router(tags=["submissions"])

FILES_HINT = 'Send JSON like {"files": {"main.py": "print(42)"}}: file names mapped to their text.'


class ErrorOut(Schema):
    detail: str


class AttemptOut(Schema):
    id: int
    status: str
    message: str
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    score: float | None
    passed: bool | None
    digest: str
    report: dict[str, Any] | None


class SubmissionOut(Schema):
    id: UUID
    lab: str
    lab_version: str
    lab_content_hash: str
    source: str
    status: str  # rejected | queued | running | graded | error
    message: str
    content_hash: str
    created_at: datetime
    url: str
    attempt: AttemptOut | None
    attempt_count: int


class RejectedOut(SubmissionOut):
    detail: str


SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["zip"],
                    "properties": {"zip": {"type": "string", "format": "binary", "description": "a zip of your files"}},
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {"type": "object", "additionalProperties": {"type": "string"},
                                  "description": "file name (relative path) -> UTF-8 text"}
                    },
                },
                "example": {"files": {"main.py": "print(42)\n"}},
            },
        },
    }
}


def intake_from_request(request: HttpRequest) -> services.Intake:
    """Read the body as a zip (multipart field 'zip') or JSON files; a body we cannot read becomes a problem."""
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        source = Submission.Source.API_ZIP
        try:
            upload = request.FILES.get("zip") or request.FILES.get("file")
        except (MultiPartParserError, SuspiciousOperation, OSError) as exc:  # TooManyFilesSent, RequestDataTooBig
            return services.Intake(source=source, problem=f"The multipart upload could not be read ({exc}).")
        if upload is None:
            return services.Intake(source=source, problem="Send your zip as a multipart file field named 'zip'.")
        return services.Intake(source=source, upload=upload)
    source = Submission.Source.API_FILES
    if content_type != "application/json":
        return services.Intake(source=source, problem=(
            "Send multipart/form-data with a 'zip' file, or application/json with a 'files' object; "
            f"got {content_type or 'no content type'}."))
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        return services.Intake(source=source, problem="The request body is too large.")
    except (ValueError, UnicodeDecodeError):
        return services.Intake(source=source, problem="The request body is not valid JSON. " + FILES_HINT)
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return services.Intake(source=source, problem=FILES_HINT)
    for name, text in files.items():
        try:
            name.encode("utf-8")
            text.encode("utf-8")
        except UnicodeEncodeError:
            return services.Intake(source=source, problem=f"{name!r} is not valid UTF-8 text (a lone surrogate?).")
    return services.Intake(source=source, files=files)


def submission_out(request: HttpRequest, submission: Submission, attempt: Attempt | None = None) -> dict[str, Any]:
    attempt = attempt or submission.latest_attempt
    version = submission.lab_version
    return {
        "id": submission.id,
        "lab": version.lab.slug,
        "lab_version": version.version,
        "lab_content_hash": version.content_hash,
        "source": submission.source,
        "status": submission.display_status(attempt),
        "message": submission.message or (attempt.message if attempt else ""),
        "content_hash": submission.content_hash,
        "created_at": submission.created_at,
        "url": request.build_absolute_uri(reverse("submission_detail", args=[submission.id])),
        "attempt": _attempt_out(attempt) if attempt else None,
        "attempt_count": getattr(submission, "attempt_total", None) or submission.attempts.count(),
    }


def _attempt_out(attempt: Attempt) -> dict[str, Any]:
    fields = ("id", "status", "message", "queued_at", "started_at", "finished_at", "score", "passed", "digest", "report")
    return {name: getattr(attempt, name) for name in fields}


@router.post(
    "/labs/{slug}/submissions",
    response={201: SubmissionOut, 400: RejectedOut, 404: ErrorOut},
    openapi_extra=SUBMIT_BODY,
    summary="Submit your work to a lab",
    description="A zip (multipart field `zip`) or JSON `{\"files\": {name: text}}`. Returns 201 with the queued "
    "submission, or 400 with a recorded rejected submission whose `detail` says what to fix.",
)
def create_submission(request: HttpRequest, slug: str):
    lab = Lab.objects.select_related("current_version").filter(slug=slug, current_version__isnull=False).first()
    if lab is None:
        return Status(404, {"detail": f"No lab named {slug!r}."})
    refusal = security.check_submit(request, request.auth)
    if refusal is not None:
        return security.refused(request, refusal)
    submission = services.submit(learner=request.auth, lab=lab, intake=intake_from_request(request))
    body = submission_out(request, submission)
    if submission.status == Submission.Status.REJECTED:
        return Status(400, {**body, "detail": submission.message})
    return Status(201, body)


@router.get("/submissions/{submission_id}", response={200: SubmissionOut, 404: ErrorOut},
            summary="A submission: status, timings and the graded report",
            description="With `wait=S` (seconds, at most 25) the answer waits until the submission is graded "
            "or errored, or S seconds have passed: one request instead of a stream of polls, answered "
            "within milliseconds of the grade.")
def get_submission(request: HttpRequest, submission_id: UUID, wait: float = 0):
    submission = (Submission.objects.visible_to(request.auth).select_related("lab_version__lab")
                  .annotate(attempt_total=Count("attempts")).filter(pk=submission_id).first())
    if submission is None:
        return Status(404, {"detail": "No such submission."})
    attempt = submission.latest_attempt  # a wait ends with this one read: the rest was read before it
    if wait > 0 and attempt is not None and not attempt.is_terminal:  # NaN is not > 0
        attempt, _ = live.wait_until(submission.id, lambda: submission.latest_attempt,
                                     lambda a: a is None or a.is_terminal, timeout=wait)
    return Status(200, submission_out(request, submission, attempt))


@router.get("/submissions", response=list[SubmissionOut], summary="Your latest submissions (50)")
def list_submissions(request: HttpRequest):
    mine = Submission.objects.filter(learner=request.auth).select_related("lab_version__lab")[:50]
    return [submission_out(request, s) for s in mine]
