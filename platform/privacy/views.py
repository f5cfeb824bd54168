"""Your data: download all of it (JSON, or a zip with your files), or delete your account."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from skillforge import security

from . import services
from .forms import DeleteAccountForm


@login_required
@never_cache
def data_page(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/data.html", {"form": DeleteAccountForm(user=request.user)})


def _export_allowed(request: HttpRequest) -> HttpResponse | None:
    refusal = security.check("export", ip=security.client_ip(request), user=f"user:{request.user.pk}")
    return security.refused(request, refusal) if refusal else None


@login_required
@never_cache
@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    if (refused := _export_allowed(request)) is not None:
        return refused
    body = json.dumps(services.export_document(user=request.user), indent=2, ensure_ascii=False, sort_keys=True)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="skillforge-data.json"'
    return response


@login_required
@never_cache
@require_GET
def export_zip(request: HttpRequest) -> HttpResponse:
    if (refused := _export_allowed(request)) is not None:
        return refused
    response = HttpResponse(services.export_archive(user=request.user), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="skillforge-data.zip"'
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.delete_account(user=request.user)
        except services.DeletionRefused as exc:
            messages.error(request, str(exc))
            return redirect("privacy_data")
        logout(request)
        revoked = len(outcome.revoked)
        messages.success(request, "Your account and its data are deleted." + (
            f" {revoked} credential{'s were' if revoked != 1 else ' was'} revoked (reason: holder deleted account)."
            if revoked else ""))
        return redirect("home")
    return render(request, "privacy/data.html", {"form": form}, status=400 if request.method == "POST" else 200)
