"""{% grade_override attempt %}: on a submission page, the grade in force when an instructor
overrode it (both scores shown), and the link to override for the lab's instructors."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("authoring/_override_panel.html", takes_context=True)
def grade_override(context: dict[str, Any], attempt: Any) -> dict[str, Any]:
    from authoring.access import can_edit_lab
    from authoring.overrides import effective

    request = context.get("request")
    user = getattr(request, "user", None)
    if attempt is None or getattr(attempt, "pk", None) is None:
        return {"show": False}
    grade = effective(attempt)
    lab = attempt.submission.lab_version.lab
    may_override = bool(user and user.is_authenticated and attempt.status == "graded" and can_edit_lab(user, lab))
    return {"show": grade.override is not None or may_override, "attempt": attempt, "grade": grade,
            "may_override": may_override}
