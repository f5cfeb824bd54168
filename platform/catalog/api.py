"""REST API for the lab catalog (public)."""

from __future__ import annotations

from ninja import Router, Schema

from .models import Lab

router = Router(tags=["labs"])


class LabOut(Schema):
    slug: str
    title: str
    summary: str
    version: str
    content_hash: str
    queue: str
    pass_bar: float
    editable: list[str]


def lab_out(lab: Lab) -> dict:
    v = lab.current_version
    return {"slug": lab.slug, "title": lab.title, "summary": lab.summary, "version": v.version,
            "content_hash": v.content_hash, "queue": v.queue, "pass_bar": v.pass_bar, "editable": v.editable}


@router.get("/labs", response=list[LabOut], auth=None, summary="Published labs")
def list_labs(request):
    return [lab_out(lab) for lab in Lab.objects.filter(current_version__isnull=False).select_related("current_version")]
