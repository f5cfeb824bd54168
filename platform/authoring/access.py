"""Who may do what: instructor pages need the instructor role (a learner gets 403); a lab
or draft belongs to its owner, and staff may act on every one (repo labs have no owner)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts.models import is_instructor
from catalog.models import Lab

from .models import LabDraft


def require_instructor(request: HttpRequest) -> None:
    if not is_instructor(request.user):
        raise PermissionDenied("Only instructors can author labs.")


def can_edit_lab(user: Any, lab: Lab) -> bool:
    return bool(getattr(user, "is_staff", False) or (lab.owner_id is not None and lab.owner_id == user.pk))


def can_edit_draft(user: Any, draft: LabDraft) -> bool:
    return bool(getattr(user, "is_staff", False) or draft.owner_id == user.pk)


def labs_for(user: Any) -> Any:
    labs = Lab.objects.select_related("current_version", "owner").order_by("slug")
    return labs if getattr(user, "is_staff", False) else labs.filter(owner=user)


def get_draft_for_user(request: HttpRequest, draft_id: UUID) -> LabDraft:
    require_instructor(request)
    draft = LabDraft.objects.select_related("lab", "owner").filter(pk=draft_id).first()
    if draft is None or not can_edit_draft(request.user, draft):
        raise Http404("No such draft.")
    return draft


def get_lab_for_user(request: HttpRequest, slug: str) -> Lab:
    require_instructor(request)
    lab = Lab.objects.select_related("current_version", "owner").filter(slug=slug).first()
    if lab is None or not can_edit_lab(request.user, lab):
        raise Http404("No such lab among yours.")
    return lab
