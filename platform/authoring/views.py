"""Instructor pages for drafts: my labs, create or upload a lab, edit its brief, settings and
files, export it as a zip, validate it, publish it. Every page needs the instructor role
(a learner gets 403) and works without JavaScript."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from catalog.briefs import render_markdown

from . import bundles, drafts, labtoml, services, versions
from .access import get_draft_for_user, get_lab_for_user, labs_for, require_instructor
from .drafts import AuthoringError
from .forms import BriefForm, FileForm, NewDraftForm, NewFileForm, SettingsForm, UploadForm
from .models import LabDraft, ValidationRun

MAX_UPLOAD = bundles.MAX_ZIP_BYTES


@login_required
def home(request: HttpRequest) -> HttpResponse:
    require_instructor(request)
    mine = LabDraft.objects.select_related("lab", "owner")
    if not request.user.is_staff:
        mine = mine.filter(owner=request.user)
    return render(request, "authoring/home.html", {"drafts": mine, "labs": labs_for(request.user),
                                                   "new_form": NewDraftForm(), "upload_form": UploadForm()})


@login_required
def new_draft(request: HttpRequest) -> HttpResponse:
    require_instructor(request)
    form = NewDraftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.create_draft(owner=request.user, slug=form.cleaned_data["slug"],
                                          title=form.cleaned_data["title"])
        except AuthoringError as exc:
            form.add_error("slug", str(exc))
        else:
            messages.success(request, f"Draft {draft.slug} created from the skeleton lab: it validates as it stands.")
            return redirect("authoring:draft", draft.pk)
    return render(request, "authoring/new.html", {"new_form": form, "upload_form": UploadForm()})


def _read_upload(form: UploadForm) -> bytes:
    upload = form.cleaned_data["zip"]
    if upload.size and upload.size > MAX_UPLOAD:
        raise AuthoringError(f"The zip is {upload.size} bytes; the limit is {MAX_UPLOAD}.")
    return upload.read(MAX_UPLOAD + 1)


@login_required
def import_zip(request: HttpRequest) -> HttpResponse:
    require_instructor(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = services.import_draft(owner=request.user, data=_read_upload(form))
        except AuthoringError as exc:
            form.add_error("zip", str(exc))
        else:
            messages.success(request, f"Lab {draft.slug} uploaded as a draft.")
            return redirect("authoring:draft", draft.pk)
    return render(request, "authoring/new.html", {"new_form": NewDraftForm(), "upload_form": form}, status=200)


@login_required
@require_POST
def edit_lab(request: HttpRequest, slug: str) -> HttpResponse:
    """Open (or make) the draft of a published lab."""
    lab = get_lab_for_user(request, slug)
    try:
        draft = services.draft_for_lab(user=request.user, lab=lab)
    except AuthoringError as exc:
        messages.error(request, str(exc))
        return redirect("authoring:lab", slug)
    return redirect("authoring:draft", draft.pk)


def _draft_context(draft: LabDraft) -> dict[str, Any]:
    spec, problems = drafts.lint_draft(draft)
    blocker, run = services.publish_blocker(draft)
    lab_files = drafts.list_files(draft.lab_dir, "lab")
    return {
        "draft": draft,
        "spec": spec,
        "problems": problems,
        "sections": drafts.sections(lab_files),
        "wrong_files": drafts.list_files(draft.wrong_dir, "wrong"),
        "run": run,
        "blocker": blocker,
        "upload_form": UploadForm(),
        "new_file_form": NewFileForm(),
    }


@login_required
def draft_detail(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    return render(request, "authoring/draft.html", _draft_context(draft))


@login_required
@require_POST
def replace_zip(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.import_draft(owner=request.user, data=_read_upload(form), draft=draft)
        except AuthoringError as exc:
            form.add_error("zip", str(exc))
        else:
            messages.success(request, "The draft's files were replaced from the zip.")
            return redirect("authoring:draft", draft.pk)
    return render(request, "authoring/draft.html", {**_draft_context(draft), "upload_form": form})


@login_required
def export(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    data = bundles.export_zip(slug=draft.slug, lab_dir=draft.lab_dir, wrong_dir=draft.wrong_dir)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{draft.slug}.zip"'
    return response


@login_required
def brief(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    path = draft.lab_dir / "brief.md"
    current = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    form = BriefForm(request.POST or None, initial={"text": current})
    preview = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"].replace("\r\n", "\n")
        if "save" in request.POST:
            drafts.write_file(draft, "lab", "brief.md", text.encode("utf-8"))
            services.touch(draft)
            messages.success(request, "brief.md saved.")
            return redirect("authoring:brief", draft.pk)
        preview = mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 (catalog.briefs)
    elif request.method == "GET":
        preview = mark_safe(render_markdown(current))  # noqa: S308 - sanitised by nh3
    return render(request, "authoring/brief.html", {"draft": draft, "form": form, "preview": preview})


@login_required
def lab_settings(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    try:
        form = SettingsForm(request.POST or None, lab_dir=draft.lab_dir)
    except AuthoringError as exc:
        messages.error(request, f"{exc} Fix lab.toml in the file editor.")
        return redirect("authoring:edit_file", draft.pk, "lab", "lab.toml")
    if request.method == "POST" and form.is_valid():
        problems: list[Any] = []
        try:
            problems = drafts.try_write(draft, labtoml.write_settings(draft.lab_dir, form.cleaned_data))
        except AuthoringError as exc:
            problems = [exc]
        if not problems:
            services.touch(draft)
            messages.success(request, "Settings saved to lab.toml.")
            return redirect("authoring:draft", draft.pk)
        for problem in problems:
            form.add_error(None, str(problem))
    return render(request, "authoring/settings.html", {"draft": draft, "form": form})


def _area_or_404(area: str) -> str:
    if area not in drafts.AREAS:
        raise Http404("No such area.")
    return area


@login_required
def edit_file(request: HttpRequest, draft_id: UUID, area: str, path: str) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    _area_or_404(area)
    try:
        data = drafts.read_file(draft, area, path)
    except AuthoringError as exc:
        raise Http404(str(exc)) from None
    entry = drafts.FileEntry(area, path, len(data), drafts.is_text(path, data))
    if request.method == "GET" and request.GET.get("download"):
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{path.rsplit("/", 1)[-1]}"'
        return response
    if not entry.text:
        return render(request, "authoring/file.html", {"draft": draft, "entry": entry, "form": None})
    form = FileForm(request.POST or None, initial={"content": data.decode("utf-8")}, lang=entry.lang)
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["content"].replace("\r\n", "\n").encode("utf-8")
        problems: list[Any] = []
        try:
            if area == "lab":
                problems = drafts.try_write(draft, {path: new})
            else:
                drafts.write_file(draft, area, path, new)
        except AuthoringError as exc:
            problems = [exc]
        if not problems:
            services.touch(draft)
            messages.success(request, f"{path} saved.")
            return redirect(reverse("authoring:edit_file", args=[draft.pk, area, path]))
        for problem in problems:
            form.add_error("content", str(problem))
    return render(request, "authoring/file.html", {"draft": draft, "entry": entry, "form": form})


@login_required
@require_POST
def new_file(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    form = NewFileForm(request.POST, request.FILES)
    if form.is_valid():
        area, path = form.cleaned_data["area"], form.cleaned_data["path"].strip()
        upload = form.cleaned_data.get("upload")
        try:
            if upload is not None and upload.size and upload.size > drafts.MAX_FILE_BYTES:
                raise AuthoringError(f"{path} is {upload.size} bytes; a lab file may be at most {drafts.MAX_FILE_BYTES}.")
            data = upload.read(drafts.MAX_FILE_BYTES + 1) if upload is not None else \
                form.cleaned_data["content"].replace("\r\n", "\n").encode("utf-8")
            if drafts.resolve(drafts.area_root(draft, area), drafts.safe_rel(path)).exists():
                raise AuthoringError(f"{path} exists already; open it to edit it.")
            drafts.write_file(draft, area, path, data)
        except AuthoringError as exc:
            form.add_error("path", str(exc))
        else:
            services.touch(draft)
            messages.success(request, f"{path} added.")
            return redirect("authoring:draft", draft.pk)
    return render(request, "authoring/draft.html", {**_draft_context(draft), "new_file_form": form})


@login_required
@require_POST
def delete_file(request: HttpRequest, draft_id: UUID, area: str, path: str) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    try:
        drafts.delete_file(draft, _area_or_404(area), path)
    except AuthoringError as exc:
        messages.error(request, str(exc))
    else:
        services.touch(draft)
        messages.success(request, f"{path} deleted.")
    return redirect("authoring:draft", draft.pk)


@login_required
@require_POST
def delete_draft(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    slug = draft.slug
    services.delete_draft(draft=draft)
    messages.success(request, f"Draft {slug} deleted; published versions are kept.")
    return redirect("authoring:home")


@login_required
def diff_draft(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """The draft against the version it was copied from or last published as."""
    draft = get_draft_for_user(request, draft_id)
    from catalog.models import LabVersion

    base = LabVersion.objects.filter(content_hash=draft.base_hash).first() if draft.base_hash else None
    diffs = versions.diff_trees(base.snapshot_dir if base else None, draft.lab_dir)
    return render(request, "authoring/diff.html", {"draft": draft, "old": base, "new": None, "diffs": diffs,
                                                   "lab": draft.lab})


@login_required
@require_POST
def validate(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    try:
        run = services.start_validation(draft=draft, user=request.user)
    except AuthoringError as exc:
        messages.error(request, str(exc))
        return redirect("authoring:draft", draft.pk)
    return redirect("authoring:validation", run.pk)


def _get_run_for_user(request: HttpRequest, run_id: int) -> ValidationRun:
    run = ValidationRun.objects.select_related("draft").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such validation.")
    get_draft_for_user(request, run.draft_id)
    return run


@login_required
def validation(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run_for_user(request, run_id)
    blocker, latest = services.publish_blocker(run.draft)
    context = {"run": run, "draft": run.draft, "blocker": blocker, "latest": latest}
    template = "authoring/_validation.html" if request.htmx else "authoring/validation.html"
    return render(request, template, context)


@login_required
@require_POST
def publish(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    draft = get_draft_for_user(request, draft_id)
    try:
        imported = services.publish(draft=draft, user=request.user)
    except AuthoringError as exc:
        messages.error(request, f"Not published: {exc}")
        return redirect("authoring:draft", draft.pk)
    if imported.new_version:
        messages.success(request, f"Published {imported.slug} {imported.version} as version "
                                  f"{imported.content_hash[7:19]}; new submissions are graded on it.")
    else:
        messages.info(request, "Nothing changed: that exact version is published already.")
    return redirect("authoring:lab", draft.slug)
