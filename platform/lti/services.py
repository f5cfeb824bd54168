"""LTI 1.3 use-cases: who a launch is, what it opens, and the grade that goes back.

    user_for(lti_user=)                 -> the SkillForge account of an LMS user (made on first launch)
    lab_for(launch=)                    -> the lab a resource link opens (custom "lab", or /labs/<slug>/ in its URL)
    remember(user=, lab=, launch=)      -> LaunchedLab: where this learner's score for the lab goes
    send_score(launched=)               -> post the learner's best score to the LMS line item (AGS)
    deep_link_response(launch=, lab=, launch_url=) -> (return URL, signed LtiDeepLinkingResponse JWT)
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector

from catalog.models import Lab

from .models import LaunchedLab

log = logging.getLogger("skillforge.lti")

AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
TARGET_LINK_URI = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
DEPLOYMENT_ID = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
STAFF_ROLES = ("#Instructor", "#ContentDeveloper", "#Administrator", "/Instructor", "/ContentDeveloper", "/Administrator")


class LtiProblem(Exception):
    """A launch we cannot serve; the message is for the person in the LMS."""


def use_nonce(*, launch: Any) -> None:
    """Accept each launch once (see UsedNonce); raises LtiException for a replay."""
    from django.db import IntegrityError
    from pylti1p3.exception import LtiException

    from .models import UsedNonce

    now = timezone.now()
    exp = launch.get_claim("exp")
    expires = datetime.fromtimestamp(int(exp), tz=UTC) if isinstance(exp, int | float) else now + timedelta(hours=1)
    UsedNonce.objects.filter(expires_at__lt=now - timedelta(minutes=5)).delete()
    try:
        with transaction.atomic():
            UsedNonce.objects.create(issuer=str(launch.get_claim("iss")), nonce=str(launch.get_claim("nonce")),
                                     expires_at=expires)
    except IntegrityError:
        raise LtiException("this launch was already used; open the link from your course again") from None


def user_for(*, lti_user: Any) -> Any:
    """The account behind an LMS user: made on their first launch (no password: they come through the LMS)."""
    from accounts.services import create_account

    if lti_user.auth_user_id is not None:
        return lti_user.auth_user
    with transaction.atomic():
        username = f"lti-{secrets.token_hex(5)}"
        user = create_account(username=username, password=secrets.token_urlsafe(32), email=lti_user.email or "")
        user.set_unusable_password()
        user.first_name, user.last_name = (lti_user.given_name or "")[:150], (lti_user.family_name or "")[:150]
        user.save(update_fields=["password", "first_name", "last_name"])
        lti_user.auth_user = user
        lti_user.save(update_fields=["auth_user"])
    log.info("lti: new account %s for %s at %s", user.username, lti_user.sub, lti_user.registration.issuer)
    return user


def lab_for(*, launch: Any) -> Lab:
    custom = launch.get_claim(CUSTOM) or {}
    slug = str(custom.get("lab") or "").strip()
    if not slug:
        match = re.search(r"/labs/([a-z0-9-]+)/?", str(launch.get_claim(TARGET_LINK_URI) or ""))
        slug = match.group(1) if match else ""
    if not slug:
        raise LtiProblem("This link does not name a SkillForge lab. Ask your instructor to add it again "
                         "(deep linking picks the lab), or to set the custom parameter lab=<lab slug>.")
    lab = Lab.objects.select_related("current_version").filter(slug=slug, current_version__isnull=False).first()
    if lab is None:
        raise LtiProblem(f"SkillForge has no published lab {slug!r}. Ask your instructor to check the link.")
    return lab


def is_staff_launch(launch: Any) -> bool:
    return any(str(role).endswith(STAFF_ROLES) for role in launch.roles_claim or [])


def remember(*, user: Any, lab: Lab, launch: Any) -> LaunchedLab:
    endpoint = launch.get_claim(AGS_ENDPOINT) or {}
    launched, _ = LaunchedLab.objects.update_or_create(
        user=user, lab=lab, registration=launch.registration,
        resource_link_id=str((launch.resource_link_claim or {}).get("id", "")),
        defaults={"lti_user": launch.user, "deployment_id": str(launch.get_claim(DEPLOYMENT_ID) or ""),
                  "lineitem": str(endpoint.get("lineitem") or ""), "scopes": list(endpoint.get("scope") or [])},
    )
    return launched


def best_attempt(launched: LaunchedLab) -> Any:
    from submissions.models import Attempt

    return (Attempt.objects.filter(submission__learner_id=launched.user_id, submission__lab_version__lab_id=launched.lab_id,
                                   status=Attempt.Status.GRADED)
            .order_by("-score", "-finished_at").first())


def send_score(*, launched: LaunchedLab) -> float | None:
    """Post the learner's best graded score for the lab (a worse later attempt never lowers the LMS grade).

    Raises pylti1p3's LtiServiceException or requests' errors when the LMS does not take it."""
    if not launched.can_send_scores:
        return None
    attempt = best_attempt(launched)
    if attempt is None:
        return None
    registration = launched.registration.to_registration()
    ags = AssignmentsGradesService(ServiceConnector(registration),
                                   {"scope": launched.scopes, "lineitem": launched.lineitem})
    grade = (Grade()
             .set_score_given(round(float(attempt.score), 4))
             .set_score_maximum(1)
             .set_timestamp(timezone.now().isoformat(timespec="milliseconds"))
             .set_activity_progress("Completed" if attempt.passed else "Submitted")
             .set_grading_progress("FullyGraded")
             .set_user_id(launched.lti_user.sub)
             .set_comment((attempt.message or "")[:1000]))
    try:
        ags.put_grade(grade)
    except Exception as exc:
        LaunchedLab.objects.filter(pk=launched.pk).update(last_error=str(exc)[:2000])
        raise
    LaunchedLab.objects.filter(pk=launched.pk).update(last_score=attempt.score, last_sent_at=timezone.now(), last_error="")
    log.info("lti: sent score %s for %s on %s to %s", attempt.score, launched.user_id, launched.lab_id, launched.lineitem)
    return float(attempt.score)


def deep_link_response(*, message_launch: Any, lab: Lab, launch_url: str) -> tuple[str, str]:
    """The LtiDeepLinkingResponse that puts `lab` in the course: a resource link with a 0..1 line item."""
    resource = (DeepLinkResource()
                .set_url(launch_url)
                .set_title(lab.title)
                .set_custom_params({"lab": lab.slug})
                .set_lineitem(LineItem().set_score_maximum(1).set_label(lab.title).set_resource_id(lab.slug)))
    deep_link = message_launch.get_deep_link()
    settings = message_launch.get_launch_data().get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings", {})
    return str(settings.get("deep_link_return_url", "")), deep_link.get_response_jwt([resource])
