"""Public credential pages and documents, the verify page, and a learner's own list.

Documents (JSON, JWT, report, status list, issuer keys) are served as the exact stored
bytes. The verify page never fetches a URL from the network: a link is followed only when
it points at this site, and is then resolved locally.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from catalog.models import LabVersion

from . import baking, documents, keys, services, verification
from .models import Credential
from .regrade import Regrade, regrade

log = logging.getLogger("skillforge.credentials")

JSON_LD = "application/ld+json"


def _get_credential(credential_id: UUID) -> Credential:
    credential = Credential.objects.select_related("lab_version__lab", "learner").filter(pk=credential_id).first()
    if credential is None or not credential.document:  # no document: erased when its holder deleted their account
        raise Http404("No such credential.")
    return credential


def _download(body: bytes | str, content_type: str, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Access-Control-Allow-Origin"] = "*"  # public documents, for verifiers in other origins
    return response


# --- public documents --------------------------------------------------------------------------------


@require_GET
@cache_control(public=True, max_age=300)
def issuer(request: HttpRequest) -> HttpResponse:
    body = documents.issuer_profile(include_keys=keys.keyring())
    return _download(json.dumps(body, indent=2), JSON_LD)


@require_GET
@cache_control(public=True, max_age=3600)
def achievement(request: HttpRequest, hexdigest: str) -> HttpResponse:
    version = LabVersion.objects.select_related("lab").filter(content_hash=f"sha256:{hexdigest}").first()
    if version is None:
        raise Http404("No such achievement.")
    body = {"@context": list(documents.CONTEXTS), **documents.achievement(services.achievement_facts(version))}
    return _download(json.dumps(body, indent=2, ensure_ascii=False), JSON_LD)


@require_GET
@cache_control(public=True, max_age=60)
def status_list(request: HttpRequest) -> HttpResponse:
    return _download(services.status_list_document(), "application/vc+ld+json")


@require_GET
@cache_control(public=True, max_age=300)
def credential_json(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = _get_credential(credential_id)
    name = f"skillforge-{credential.lab_version.lab.slug}-{credential.id}.json" if "download" in request.GET else None
    return _download(credential.document, "application/vc+ld+json", name)


@require_GET
@cache_control(public=True, max_age=300)
def credential_jwt(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = _get_credential(credential_id)
    return _download(credential.jwt, "application/vc+jwt", f"skillforge-{credential.id}.jwt")


@require_GET
@cache_control(public=True, max_age=3600)
def credential_report(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    """The graded report's exact bytes: what the credential's evidence digest covers."""
    return _download(_get_credential(credential_id).report_bytes.encode("utf-8"), "application/json")


@require_GET
@cache_control(public=True, max_age=300)
def credential_pdf(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    from .pdf import certificate_pdf

    credential = _get_credential(credential_id)
    body = certificate_pdf(credential, json.loads(credential.document))
    return _download(body, "application/pdf", f"skillforge-{credential.lab_version.lab.slug}-certificate.pdf")


@require_GET
@cache_control(public=True, max_age=300)
def credential_png(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = _get_credential(credential_id)
    body = baking.badge_png(title=credential.lab_version.title, subtitle=f"score {credential.score:.2f}",
                            credential_json=credential.document)
    return _download(body, "image/png", f"skillforge-{credential.lab_version.lab.slug}-badge.png")


@require_GET
@cache_control(public=True, max_age=300)
def credential_svg(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = _get_credential(credential_id)
    body = baking.badge_svg(title=credential.lab_version.title, subtitle=f"score {credential.score:.2f}",
                            credential_json=credential.document)
    return _download(body, "image/svg+xml", f"skillforge-{credential.lab_version.lab.slug}-badge.svg")


def credential_summary(credential: Credential, document: dict[str, Any]) -> dict[str, Any]:
    subject = document.get("credentialSubject", {})
    identity = (subject.get("identifier") or [{}])[0]
    ach = subject.get("achievement", {})
    return {
        "credential": credential,
        "achievement": ach,
        "skills": [a.get("targetName") for a in ach.get("alignment", []) if isinstance(a, dict)],
        "learner": None if identity.get("hashed") else identity.get("identityHash"),
        "hashed_identity": identity if identity.get("hashed") else None,
        "links": credential_links(credential),
    }


def credential_links(credential: Credential) -> dict[str, str]:
    cid = [credential.id]
    return {
        "page": reverse("credential_detail", args=cid),
        "verify": reverse("verify") + f"?credential={credential.id}",
        "json": reverse("credential_json", args=cid) + "?download=1",
        "jwt": reverse("credential_jwt", args=cid),
        "pdf": reverse("credential_pdf", args=cid),
        "png": reverse("credential_png", args=cid),
        "svg": reverse("credential_svg", args=cid),
        "report": reverse("credential_report", args=cid),
    }


@require_GET
@cache_control(public=True, max_age=60)
def credential_detail(request: HttpRequest, credential_id: UUID) -> HttpResponse:
    credential = _get_credential(credential_id)
    document = json.loads(credential.document)
    context = credential_summary(credential, document)
    context["page_url"] = documents.public_url(reverse("credential_detail", args=[credential.id]))
    context["image_url"] = documents.public_url(reverse("credential_png", args=[credential.id]))
    return render(request, "credentials/detail.html", context)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    credentials = Credential.objects.filter(learner=request.user).select_related("lab_version__lab")
    rows = [(c, credential_links(c)) for c in credentials[:200]]
    return render(request, "credentials/mine.html", {"rows": rows})


# --- verify -------------------------------------------------------------------------------------------


def _input_from_request(request: HttpRequest) -> tuple[bytes | None, str]:
    """(bytes to verify, problem). A problem is a specific message; bytes None means show the empty form."""
    limit = settings.SKILLFORGE_VERIFY_MAX_BYTES
    if request.method == "POST":
        try:
            upload = request.FILES.get("file")
            text = request.POST.get("credential", "")
        except RequestDataTooBig:
            return None, f"The request is too large: a credential is at most {limit:,} bytes."
        except (MultiPartParserError, SuspiciousOperation, OSError) as exc:
            return None, f"The upload could not be read ({exc})."
        if upload is not None:
            if (upload.size or 0) > limit:
                return None, f"The file is {upload.size:,} bytes; a credential is at most {limit:,} bytes."
            return upload.read(limit + 1), ""
        if text.strip():
            return text.encode("utf-8", "surrogatepass"), ""
        ref = request.POST.get("credential_id", "")
    else:
        ref = request.GET.get("credential", "")
        url = request.GET.get("url", "").strip()
        if url:
            return _follow_link(url)
    if ref:
        try:
            return _get_credential(UUID(ref)).document.encode("utf-8"), ""
        except (ValueError, Http404):
            return None, "There is no credential with that id on this site."
    if request.method == "POST":
        return None, "Nothing to verify: paste the credential, upload its file, or follow a link to it."
    return None, ""


def _follow_link(url: str) -> tuple[bytes | None, str]:
    """Only links to this site are followed, and they are resolved here, never fetched."""
    match = verification._resolved(url)
    if match is None:
        return None, ("This page follows links to credentials on this site only (it fetches nothing from elsewhere). "
                      "Download the credential and upload it instead.")
    name, kwargs = match
    if name in ("credential_json", "credential_detail", "credential_jwt"):
        credential = Credential.objects.filter(pk=kwargs["credential_id"]).first()
        if credential is None or not credential.document:
            return None, "There is no credential at that link."
        return (credential.jwt if name == "credential_jwt" else credential.document).encode("utf-8"), ""
    return None, "That link is on this site but is not a credential."


REGRADE_LOCK_SECONDS = 120


def _run_regrade(document: dict[str, Any]) -> Regrade:
    key = f"credentials:regrade:{document.get('id')}"
    if not cache.add(key, 1, REGRADE_LOCK_SECONDS):
        return Regrade("skip", "A re-grade of this credential is already running or ran a moment ago; "
                               "try again in two minutes.", "busy")
    try:
        return regrade(document)
    finally:
        cache.delete(key)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    data, problem = _input_from_request(request)
    result = None
    outcome = None
    if data is not None:
        try:
            result = verification.verify_bytes(data)
        except Exception:  # a bug must not turn a hiring manager's paste into a 500
            log.exception("verification crashed")
            result = verification.Verification()
            result.add("read", "Verify", verification.FAIL, "Verification failed on our side; it has been logged.",
                       "internal")
        wants_regrade = request.method == "POST" and request.POST.get("action") == "regrade"
        if wants_regrade and result.document is not None:
            if result.verified:
                outcome = _run_regrade(result.document)
            else:
                outcome = Regrade("skip", "Only a credential that verifies is re-graded.", "not_verified")
    status = 200 if not problem else 400
    context = {"result": result, "problem": problem, "regrade": outcome, "max_bytes": settings.SKILLFORGE_VERIFY_MAX_BYTES,
               "pasted": request.POST.get("credential", "") if request.method == "POST" and not problem else ""}
    if result is not None and result.credential is not None and result.credential.document:
        context["summary"] = credential_summary(result.credential, json.loads(result.credential.document))
    if request.GET.get("format") == "json" and result is not None:
        return JsonResponse(result.as_dict(), status=status)
    return render(request, "credentials/verify.html", context, status=status)
