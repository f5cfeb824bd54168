"""Instructor pages for a published lab: versions and their diffs, re-grading, analytics,
similarity, and grade overrides on attempts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from catalog.models import LabVersion
from submissions.models import Attempt, Submission

from . import analytics, bundles, charts, regrade, similarity, versions
from .access import can_edit_lab, get_lab_for_user, require_instructor
from .drafts import AuthoringError
from .forms import OverrideForm, RegradeForm
from .models import LabDraft, RegradeJob
from .overrides import effective, override_grade


def _versions(lab: Any) -> list[LabVersion]:
    return list(lab.versions.order_by("-imported_at", "-id"))


@login_required
def lab_detail(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    all_versions = _versions(lab)
    counts = {row["lab_version"]: row["n"] for row in
              Submission.objects.filter(lab_version__lab=lab).values("lab_version").annotate(n=Count("id"))}
    rows = [(v, counts.get(v.pk, 0), all_versions[i + 1] if i + 1 < len(all_versions) else None)
            for i, v in enumerate(all_versions)]
    return render(request, "authoring/lab.html", {
        "lab": lab, "rows": rows, "draft": LabDraft.objects.filter(slug=lab.slug).first(),
        "jobs": lab.regrade_jobs.select_related("target")[:10],
    })


def _version(lab: Any, content_hash: str) -> LabVersion:
    version = LabVersion.objects.filter(lab=lab, content_hash=content_hash).first()
    if version is None:
        raise Http404("No such version of this lab.")
    return version


@login_required
def version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    new = _version(lab, request.GET.get("to", ""))
    old_hash = request.GET.get("from", "")
    old = _version(lab, old_hash) if old_hash else None
    diffs = versions.diff_trees(old.snapshot_dir if old else None, new.snapshot_dir)
    return render(request, "authoring/diff.html", {"lab": lab, "old": old, "new": new, "diffs": diffs, "draft": None})


@login_required
def version_zip(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    version = _version(lab, request.GET.get("version", ""))
    data = bundles.export_zip(slug=lab.slug, lab_dir=version.snapshot_dir)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{lab.slug}-{version.short_hash}.zip"'
    return response


# --- re-grade ------------------------------------------------------------------------------


@login_required
def regrade_new(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    all_versions = _versions(lab)
    form = RegradeForm(request.POST or None, versions=all_versions)
    preview = None
    if request.method == "POST" and form.is_valid():
        target = _version(lab, form.cleaned_data["target"])
        args = {"lab": lab, "target": target, "selection": form.cleaned_data["selection"],
                "since": form.cleaned_data.get("since"), "latest_only": form.cleaned_data["latest_only"]}
        if "preview" in request.POST:
            preview = regrade.candidates(**args)
        else:
            try:
                job = regrade.start_regrade(user=request.user, **args)
            except AuthoringError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("authoring:regrade", job.pk)
    return render(request, "authoring/regrade_new.html", {"lab": lab, "form": form, "preview": preview})


@login_required
def regrade_job(request: HttpRequest, job_id: int) -> HttpResponse:
    require_instructor(request)
    job = RegradeJob.objects.select_related("lab", "target").filter(pk=job_id).first()
    if job is None or not can_edit_lab(request.user, job.lab):
        raise Http404("No such re-grade.")
    context = {"job": job, "lab": job.lab, "partial": bool(request.htmx)}
    if job.is_done:
        context.update(regrade.outcome(job))
    template = "authoring/_regrade_progress.html" if request.htmx else "authoring/regrade.html"
    return render(request, template, context)


# --- analytics -----------------------------------------------------------------------------


@login_required
def lab_analytics(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    data = analytics.compute(lab)
    svg = {
        "daily": charts.bars([d.isoformat()[5:] for d, _, _ in data.daily],
                             {"submissions": [n for _, n, _ in data.daily], "learners": [n for _, _, n in data.daily]},
                             title="Submissions and learners per day"),
        "checks": charts.hbars([name for _, name, *_ in data.checks], [rate for *_, rate in data.checks],
                               title="Pass rate per check", maximum=1.0, percent=True),
        "attempts": charts.bars([str(n) for n, _ in data.attempts_to_pass], {"learners": [c for _, c in data.attempts_to_pass]},
                                title="Submissions needed to pass", width=360, height=200),
        "time": charts.bars([label for label, _ in data.time_to_pass], {"learners": [c for _, c in data.time_to_pass]},
                            title="Time from first submission to pass", width=360, height=200),
        "terminations": charts.hbars([t for t, _ in data.terminations], [float(n) for _, n in data.terminations],
                                     title="How gradings ended"),
    }
    return render(request, "authoring/analytics.html", {
        "lab": lab, "data": data, "tables": analytics.TABLES,
        "svg": {k: mark_safe(v) for k, v in svg.items()},  # noqa: S308 - built by charts.py, every label escaped
    })


@login_required
def analytics_csv(request: HttpRequest, slug: str, table: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    if table not in analytics.TABLES:
        raise Http404("No such table.")
    response = HttpResponse(analytics.as_csv(analytics.compute(lab), table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{lab.slug}-{table}.csv"'
    return response


# --- similarity ----------------------------------------------------------------------------


def _documents(lab: Any) -> tuple[list[similarity.Document], dict[Any, Submission]]:
    """Each learner's latest accepted submission, minus what the current starter already has."""
    version = lab.current_version
    names = list(version.editable) if version and version.editable else None
    starter = similarity.document("starter", "starter", {
        n: t.decode("utf-8", "replace") for n, t in (version.starter_files().items() if version else [])
        if n.endswith(".py")})
    latest: dict[int, Submission] = {}
    for submission in (Submission.objects.filter(lab_version__lab=lab, status=Submission.Status.ACCEPTED)
                       .select_related("learner").order_by("created_at")):
        latest[submission.learner_id] = submission
    docs = [similarity.document(s.pk, s.learner.get_username(), similarity.python_files(s.files_dir, names),
                                exclude=set(starter.prints)) for s in latest.values()]
    return docs, {s.pk: s for s in latest.values()}


@login_required
def lab_similarity(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    try:
        threshold = min(max(float(request.GET.get("threshold", similarity.THRESHOLD)), 0.05), 1.0)
    except ValueError:
        threshold = similarity.THRESHOLD
    docs, _ = _documents(lab)
    pairs = similarity.flag(docs, threshold)
    return render(request, "authoring/similarity.html", {"lab": lab, "pairs": pairs, "threshold": threshold,
                                                         "compared": len(docs)})


@login_required
def similarity_pair(request: HttpRequest, slug: str, a: UUID, b: UUID) -> HttpResponse:
    lab = get_lab_for_user(request, slug)
    docs, _ = _documents(lab)
    by_key = {d.key: d for d in docs}
    if a not in by_key or b not in by_key:
        raise Http404("Those submissions are not among this lab's latest ones.")
    left, right = by_key[a], by_key[b]
    score, shared = similarity.similarity(left, right)
    marks_left, marks_right = similarity.matching_lines(left, right)

    def side(doc: similarity.Document, marks: dict[str, set[int]]) -> list[tuple[str, list[tuple[int, str, bool]]]]:
        return [(name, [(i, line, i in marks.get(name, set())) for i, line in enumerate(text.splitlines(), 1)])
                for name, text in sorted(doc.files.items())]

    return render(request, "authoring/similarity_pair.html", {
        "lab": lab, "left": left, "right": right, "score": score, "shared": shared,
        "left_files": side(left, marks_left), "right_files": side(right, marks_right),
    })


# --- overrides -----------------------------------------------------------------------------


@login_required
def override(request: HttpRequest, attempt_id: int) -> HttpResponse:
    require_instructor(request)
    attempt = Attempt.objects.select_related("submission__lab_version__lab", "submission__learner").filter(
        pk=attempt_id).first()
    if attempt is None:
        raise Http404("No such attempt.")
    lab = attempt.submission.lab_version.lab
    if not can_edit_lab(request.user, lab):
        raise PermissionDenied("Only the lab's instructor can override its grades.")
    form = OverrideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            override_grade(attempt=attempt, instructor=request.user, score=form.cleaned_data["score"],
                           reason=form.cleaned_data["reason"])
        except AuthoringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Grade overridden; the change is in the audit log below.")
            return redirect("submission_detail", attempt.submission_id)
    return render(request, "authoring/override.html", {
        "attempt": attempt, "submission": attempt.submission, "lab": lab, "form": form,
        "grade": effective(attempt), "history": attempt.overrides.select_related("instructor"),
    })
