"""The public portfolio (/u/<handle>/), a lab's report and code on it, the owner's settings, skill pages.

Public pages render without JavaScript and without anything from the visitor's session
(no user menu, no CSRF token), so they are cacheable: Cache-Control public plus an ETag
that changes when the learner's settings or credentials do.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_GET

from catalog.models import Lab
from credentials.documents import public_url
from credentials.views import credential_links

from . import services
from .forms import PortfolioForm
from .models import LabVisibility, Portfolio


def _get_public_portfolio(handle: str) -> Portfolio:
    portfolio = Portfolio.objects.select_related("user").filter(handle=handle.lower(), public=True).first()
    if portfolio is None or not portfolio.user.is_active:
        raise Http404("No public portfolio with that handle.")
    return portfolio


def _etag(request: HttpRequest, handle: str, slug: str = "") -> str | None:
    portfolio = Portfolio.objects.filter(handle=handle.lower(), public=True).first()
    return None if portfolio is None else services.etag(portfolio) + slug


@require_GET
@cache_control(public=True, max_age=300)
@condition(etag_func=_etag)
def portfolio(request: HttpRequest, handle: str) -> HttpResponse:
    owner = _get_public_portfolio(handle)
    rows = [(e, credential_links(e.credential)) for e in services.entries(owner, public_only=True)]
    skills = sorted({s for e, _ in rows for s in e.skills})
    page_url = public_url(reverse("portfolio", args=[owner.handle]))
    description = (owner.headline or f"{len(rows)} lab{'s' if len(rows) != 1 else ''} passed on SkillForge, "
                   "each with a verifiable Open Badges 3.0 credential.")
    image = public_url(reverse("credential_png", args=[rows[0][0].credential.id])) if rows else ""
    return render(request, "portfolios/portfolio.html", {
        "owner": owner, "rows": rows, "skills": skills, "page_url": page_url, "description": description,
        "image_url": image,
    })


@require_GET
@cache_control(public=True, max_age=300)
@condition(etag_func=_etag)
def portfolio_lab(request: HttpRequest, handle: str, slug: str) -> HttpResponse:
    owner = _get_public_portfolio(handle)
    entry = next((e for e in services.entries(owner, public_only=True) if e.lab.slug == slug), None)
    if entry is None:
        raise Http404("This lab is not on this portfolio.")
    services.with_report(entry)
    return render(request, "portfolios/lab.html", {
        "owner": owner, "entry": entry, "links": credential_links(entry.credential),
        "files": services.code_files(entry),
        "page_url": public_url(reverse("portfolio_lab", args=[owner.handle, slug])),
        "description": f"{owner.shown_name} passed {entry.lab.title} with {entry.credential.score:.2f}.",
        "image_url": public_url(reverse("credential_png", args=[entry.credential.id])),
    })


def _save_visibility(request: HttpRequest, portfolio: Portfolio, entries: list[services.Entry]) -> None:
    for entry in entries:
        LabVisibility.objects.update_or_create(
            portfolio=portfolio, lab=entry.lab,
            defaults={"visible": request.POST.get(f"visible-{entry.lab.pk}") == "on",
                      "publish_code": request.POST.get(f"code-{entry.lab.pk}") == "on"},
        )


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    portfolio = services.portfolio_for(request.user)
    entries = services.entries(portfolio, public_only=False)
    if request.method == "POST" and request.POST.get("action") == "unpublish":
        Portfolio.objects.filter(pk=portfolio.pk).update(public=False)
        portfolio.save(update_fields=["updated_at"])
        messages.success(request, "Your portfolio is unpublished: its page now answers 404.")
        return redirect("portfolio_settings")
    form = PortfolioForm(request.POST or None, instance=portfolio)
    if request.method == "POST" and form.is_valid():
        portfolio = form.save()
        _save_visibility(request, portfolio, entries)
        messages.success(request, "Saved." + (" Your portfolio is public." if portfolio.public else ""))
        return redirect("portfolio_settings")
    context: dict[str, Any] = {"form": form, "portfolio": portfolio, "entries": entries}
    if portfolio.public and portfolio.handle:
        context["public_url"] = reverse("portfolio", args=[portfolio.handle])
    return render(request, "portfolios/settings.html", context)


@require_GET
@cache_control(public=True, max_age=3600)
def skill(request: HttpRequest, tag: str) -> HttpResponse:
    """A skill the labs align to (the alignment targetUrl in credentials)."""
    labs = []
    for lab in Lab.objects.filter(current_version__isnull=False).select_related("current_version"):
        try:
            tags = lab.current_version.load_spec().tags
        except Exception:  # a missing snapshot must not break a public page
            continue
        if tag in tags:
            labs.append(lab)
    return render(request, "portfolios/skill.html", {"tag": tag, "labs": labs,
                                                     "page_url": public_url(reverse("skill", args=[tag]))})
