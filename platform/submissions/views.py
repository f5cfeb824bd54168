"""Pages: the submit form, a submission (live while it grades), my submissions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from catalog.models import LabVersion
from catalog.views import get_lab

from . import services
from .forms import SubmitForm
from .models import Attempt, Submission


def _get_submission_for_user(request: HttpRequest, submission_id: UUID) -> Submission:
    submission = (
        Submission.objects.visible_to(request.user).select_related("lab_version__lab").filter(pk=submission_id).first()
    )
    if submission is None:
        raise Http404("No such submission.")
    return submission


def _intake(form: SubmitForm, version: LabVersion) -> services.Intake:
    upload = form.cleaned_data.get("zip")
    if upload is not None:
        return services.Intake(source=Submission.Source.UPLOAD, upload=upload)
    files: dict[str, str | bytes] = dict(version.starter_files())
    files.update(form.edited_files())
    return services.Intake(source=Submission.Source.EDITOR, files=files)


@login_required
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab(slug)
    version = lab.current_version
    form = SubmitForm(request.POST or None, request.FILES or None, texts=version.editable_texts(),
                      notebook=version.load_spec().notebook is not None)
    rejected = None
    if request.method == "POST" and form.is_valid():
        submission = services.submit(learner=request.user, lab=lab, intake=_intake(form, version))
        if submission.status == Submission.Status.ACCEPTED:
            return redirect("submission_detail", submission.id)
        rejected = submission
    return render(request, "submissions/submit.html", {"lab": lab, "version": version, "form": form,
                                                       "rejected": rejected})


def _attempt_context(submission: Submission) -> dict[str, Any]:
    attempt = submission.latest_attempt
    status = submission.display_status(attempt)
    report = attempt.report if attempt else None
    timings = {}
    if attempt and attempt.started_at:
        timings["waited"] = (attempt.started_at - attempt.queued_at).total_seconds()
        if attempt.finished_at:
            timings["graded_in"] = (attempt.finished_at - attempt.started_at).total_seconds()
    return {
        "submission": submission,
        "attempt": attempt,
        "status": status,
        "live": status in (Attempt.Status.QUEUED, Attempt.Status.RUNNING),
        "report": report,
        "timings": timings,
    }


@login_required
def detail(request: HttpRequest, submission_id: UUID) -> HttpResponse:
    submission = _get_submission_for_user(request, submission_id)
    return render(request, "submissions/detail.html", _attempt_context(submission))


@login_required
def attempt_status(request: HttpRequest, submission_id: UUID) -> HttpResponse:
    """The live part of the submission page; htmx polls it until the attempt is graded or errored."""
    submission = _get_submission_for_user(request, submission_id)
    return render(request, "submissions/_attempt.html", _attempt_context(submission))


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    submissions = Submission.objects.filter(learner=request.user).select_related("lab_version__lab")
    lab_slug = request.GET.get("lab", "")
    if lab_slug:
        submissions = submissions.filter(lab_version__lab__slug=lab_slug)
    rows = [(s, s.latest_attempt) for s in submissions[:100]]
    return render(request, "submissions/mine.html", {"rows": rows, "lab_slug": lab_slug})
