"""The lab list and lab pages (public)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from .briefs import brief_html
from .models import Lab


def get_lab(slug: str) -> Lab:
    """A published lab by slug, or 404."""
    return get_object_or_404(Lab.objects.select_related("current_version"), slug=slug, current_version__isnull=False)


def home(request: HttpRequest) -> HttpResponse:
    labs = Lab.objects.filter(current_version__isnull=False).select_related("current_version")
    return render(request, "catalog/home.html", {"labs": labs})


def lab_detail(request: HttpRequest, slug: str) -> HttpResponse:
    lab = get_lab(slug)
    version = lab.current_version
    brief = mark_safe(brief_html(version.content_hash, version.brief))  # noqa: S308 - sanitised by nh3
    return render(request, "catalog/lab_detail.html", {"lab": lab, "version": version, "brief": brief})
