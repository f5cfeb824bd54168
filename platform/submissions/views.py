"""Pages: the submit form, a submission (live while it grades), my submissions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe

from catalog.briefs import brief_html
from catalog.models import LabVersion
from catalog.views import get_lab
from learning import services as learning
from skillforge import security

from . import live, progress, services
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
    """The editor: the starter's editable files with the learner's draft on top; submit, save a draft, or reset."""
    lab = get_lab(slug)
    version = lab.current_version
    action = request.POST.get("action", "submit") if request.method == "POST" else ""
    if action == "reset":
        learning.discard_draft(learner=request.user, lab=lab)
        messages.success(request, "Your draft is gone: the editor shows the starter files again.")
        return redirect("submit", slug)
    texts, draft = learning.draft_texts(learner=request.user, lab=lab)
    form = SubmitForm(request.POST or None, request.FILES or None, texts=texts,
                      notebook=version.load_spec().notebook is not None)
    rejected = None
    if request.method == "POST" and form.is_valid():
        if action == "draft":  # the "Save draft" button, for a browser without JavaScript
            try:
                learning.save_draft(learner=request.user, lab=lab, files=form.edited_files())
                messages.success(request, "Draft saved.")
                return redirect("submit", slug)
            except learning.DraftRejected as exc:
                messages.error(request, f"Draft not saved: {exc}")
        else:
            _keep_draft(request, lab, form)
            refusal = security.check_submit(request, request.user)  # after the draft is kept: nothing typed is lost
            if refusal is not None:
                return security.refused(request, refusal)
            submission = services.submit(learner=request.user, lab=lab, intake=_intake(form, version))
            if submission.status == Submission.Status.ACCEPTED:
                return redirect("submission_detail", submission.id)
            rejected = submission
    last = Submission.objects.filter(learner=request.user, lab_version__lab=lab).first()
    return render(request, "submissions/submit.html", {
        "lab": lab, "version": version, "form": form, "rejected": rejected, "draft": draft, "last": last,
        "brief": mark_safe(brief_html(version.content_hash, version.brief)),  # noqa: S308 - sanitised by nh3
    })


def _keep_draft(request: HttpRequest, lab: Any, form: SubmitForm) -> None:
    """What was typed is the draft, whatever the grader says (a zip upload leaves the draft alone)."""
    if form.cleaned_data.get("zip") is not None:
        return
    try:
        learning.save_draft(learner=request.user, lab=lab, files=form.edited_files())
    except learning.DraftRejected:
        pass  # the submission's own intake says what is wrong with these files


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
        "live": status in (Attempt.Status.QUEUED, Attempt.Status.RUNNING) or _credential_coming(attempt),
        "report": report,
        "timings": timings,
        "facts": progress.live_facts(submission, attempt, status),
        "diff": progress.diff(attempt, submission),
        "failing": sum(1 for c in (report or {}).get("checks", []) if c.get("status") != "pass"),
        "history": progress.history(submission),
    }


CREDENTIAL_WAIT_SECONDS = 30


def _credential_coming(attempt: Attempt | None) -> bool:
    """A passing grade is stored a moment before its credential is signed: keep polling until it is there."""
    if attempt is None or attempt.status != Attempt.Status.GRADED or not attempt.passed or attempt.finished_at is None:
        return False
    if (timezone.now() - attempt.finished_at).total_seconds() > CREDENTIAL_WAIT_SECONDS:
        return False
    return not hasattr(attempt, "credential")


@login_required
def detail(request: HttpRequest, submission_id: UUID) -> HttpResponse:
    submission = _get_submission_for_user(request, submission_id)
    return render(request, "submissions/detail.html", _attempt_context(submission))


PAGE_WAIT_SECONDS = 2.0  # the page's long-poll: back at once on a change, else with fresh timings


@login_required
def attempt_status(request: HttpRequest, submission_id: UUID) -> HttpResponse:
    """The live part of the submission page. htmx asks for it again as soon as it arrives
    (?wait=: the answer comes when the attempt moves, or within PAGE_WAIT_SECONDS with its
    timings refreshed) until the attempt is graded or errored and its credential is there."""
    submission = _get_submission_for_user(request, submission_id)
    waited = False
    if request.GET.get("wait") and submission.status != Submission.Status.REJECTED:

        def state() -> tuple[str, bool]:
            attempt = submission.latest_attempt
            return (attempt.status, _credential_coming(attempt)) if attempt else ("", False)

        first = state()
        _, waited = live.wait_until(submission.id, state, lambda now: now != first, timeout=PAGE_WAIT_SECONDS)
    context = _attempt_context(submission)
    context["poll_delay_ms"] = 0 if waited else 1000  # a server too busy to wait: poll every second
    return render(request, "submissions/_attempt.html", context)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    submissions = Submission.objects.filter(learner=request.user).select_related("lab_version__lab")
    lab_slug = request.GET.get("lab", "")
    if lab_slug:
        submissions = submissions.filter(lab_version__lab__slug=lab_slug)
    rows = [(s, s.latest_attempt) for s in submissions[:100]]
    return render(request, "submissions/mine.html", {"rows": rows, "lab_slug": lab_slug})
