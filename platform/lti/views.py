"""LTI 1.3 endpoints: OIDC login initiation, the launch (resource link and deep linking), the
deep-linking answer, and the tool's public keys.

An LMS launch is a cross-site form POST: no CSRF token can come with it, and what proves
it is the platform's signed id_token (pylti1p3 checks the signature against the platform's
keys, the issuer, audience, nonce and state). Problems become a page that says what to do,
never a 500.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_POST
from lti_tool.constants import SESSION_KEY
from lti_tool.utils import DjangoToolConfig
from lti_tool.views import LtiLaunchBaseView, OIDCLoginInitView
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.exception import LtiException

from catalog.models import Lab

from . import services

log = logging.getLogger("skillforge.lti")


def problem(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(request, "lti/problem.html", {"message": message}, status=status)


@method_decorator(xframe_options_exempt, name="dispatch")
class LoginView(OIDCLoginInitView):
    """OIDC third-party login initiation: redirect the browser to the platform's auth URL.

    Unlike django-lti's view we send no cookie-check page: it is inline script, which our CSP
    refuses. The LMS should open SkillForge in a new window (see docs/browser.md)."""

    def get_oidc_response(self, request: HttpRequest, registration_uuid: Any, params: Any) -> HttpResponse:
        target = params.get("target_link_uri")
        if not target or not params.get("iss") or not params.get("login_hint"):
            return problem(request, "This login request misses iss, login_hint or target_link_uri.")
        try:
            oidc = DjangoOIDCLogin(request, DjangoToolConfig(registration_uuid), launch_data_storage=DjangoCacheDataStorage())
            return oidc.redirect(request.build_absolute_uri(reverse("lti:launch")))
        except LtiException as exc:
            log.info("lti login refused: %s", exc)
            return problem(request, f"SkillForge does not know this LMS registration ({exc}).")


@method_decorator(xframe_options_exempt, name="dispatch")
class LaunchView(LtiLaunchBaseView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().post(request, *args, **kwargs)
        except LtiException as exc:
            log.info("lti launch refused: %s", exc)
            return problem(request, f"The launch could not be verified ({exc}). Open the link from your course again.")
        except services.LtiProblem as exc:
            return problem(request, str(exc), status=404)

    def launch_setup(self, request: HttpRequest, lti_launch: Any) -> None:
        services.use_nonce(launch=lti_launch)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return problem(request, "This address is for launches from an LMS (an LTI 1.3 form POST).", status=405)

    def handle_resource_launch(self, request: HttpRequest, lti_launch: Any) -> HttpResponse:
        lab = services.lab_for(launch=lti_launch)
        user = services.user_for(lti_user=lti_launch.user)
        launch_id = request.session.get(SESSION_KEY)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_KEY] = launch_id
        services.remember(user=user, lab=lab, launch=lti_launch)
        return redirect("submit", lab.slug)

    def handle_deep_linking_launch(self, request: HttpRequest, lti_launch: Any) -> HttpResponse:
        if not services.is_staff_launch(lti_launch):
            return problem(request, "Only instructors add SkillForge labs to a course.", status=403)
        labs = Lab.objects.filter(current_version__isnull=False).select_related("current_version")
        return render(request, "lti/deep_link.html", {"labs": labs})


@require_POST
def deep_link_respond(request: HttpRequest) -> HttpResponse:
    """The instructor picked a lab: answer the LMS with a signed LtiDeepLinkingResponse (auto-posted)."""
    launch_id = request.session.get(SESSION_KEY)
    if not launch_id:
        return problem(request, "Your LMS session has ended: start adding the lab from your course again.")
    try:
        message_launch = DjangoMessageLaunch.from_cache(launch_id, request, DjangoToolConfig(),
                                                        launch_data_storage=DjangoCacheDataStorage())
    except LtiException as exc:
        return problem(request, f"Your LMS session could not be found ({exc}): start again from your course.")
    if not message_launch.is_deep_link_launch():
        return problem(request, "This session did not come from a deep-linking request.")
    lab = Lab.objects.filter(slug=request.POST.get("lab", ""), current_version__isnull=False).first()
    if lab is None:
        return problem(request, "Pick one of the labs in the list.")
    return_url, jwt = services.deep_link_response(message_launch=message_launch, lab=lab,
                                                  launch_url=request.build_absolute_uri(reverse("lti:launch")))
    response = render(request, "lti/deep_link_return.html", {"return_url": return_url, "jwt": jwt, "lab": lab})
    origin = urlsplit(return_url)
    if origin.scheme in ("http", "https") and origin.netloc:
        # The form posts to the LMS: allow that one origin as a form target (CSP form-action).
        response.csp_update = {"form-action": f"'self' {origin.scheme}://{origin.netloc}"}  # type: ignore[attr-defined]
    return response
