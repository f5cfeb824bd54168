"""The learner's dashboard and the draft autosave endpoint."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.views import get_lab

from . import services


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "learning/dashboard.html", {"progress": services.progress(learner=request.user)})


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.headers.get("X-Requested-With") == "fetch"


@login_required
@require_POST
def save_draft(request: HttpRequest, slug: str) -> HttpResponse:
    """The editor's autosave (fetch, JSON back), or the "Save draft" button without JavaScript (redirect)."""
    lab = get_lab(slug)
    names = list(lab.current_version.editable_texts())
    files = {name: request.POST[f"file_{i}"] for i, name in enumerate(names) if f"file_{i}" in request.POST}
    try:
        draft = services.save_draft(learner=request.user, lab=lab, files=files)
    except services.DraftRejected as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=400)
        messages.error(request, f"Draft not saved: {exc}")
        return redirect("submit", slug)
    if _wants_json(request):
        local = timezone.localtime(draft.updated_at)
        return JsonResponse({"saved_at": draft.updated_at.isoformat(), "saved_at_display": local.strftime("%H:%M:%S"),
                             "files": sorted(draft.files), "bytes": draft.size})
    messages.success(request, "Draft saved.")
    return redirect("submit", slug)


