"""LTI 1.3: SkillForge as a tool an LMS launches, tested against a platform simulated here.

The platform side is the one test double, at the boundary we cannot reach (an LMS): it has
its own RSA key, publishes its JWKS over real HTTP, signs real id_tokens, checks the tool's
client-credentials JWT against the tool's own JWKS before handing out an access token, and
records the AGS scores the tool posts. Everything on SkillForge's side is the real code:
django-lti/pylti1p3 validation, the launch view, the grade passback through the worker's
grade_attempt in a real sandbox.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from jwt.algorithms import RSAAlgorithm
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    fixture_data_dir,
    fixture_sandbox_name,
    fixture_tiny_lab,
)

pytestmark = pytest.mark.django_db

ISSUER = "https://lms.example.edu"
CLIENT_ID = "skillforge-tool-client"
DEPLOYMENT = "deployment-1"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class Platform:
    """The LMS: JWKS, token endpoint, line item scores, over HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.key = _rsa_key()
        self.kid = "platform-key-1"
        self.scores: list[dict] = []
        self.token_requests: list[dict] = []
        self.tool_jwks: dict = {}
        self.tokens: set[str] = set()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/jwks":
                    jwk = json.loads(RSAAlgorithm.to_jwk(platform.key.public_key()))
                    self._send(200, {"keys": [{**jwk, "kid": platform.kid, "alg": "RS256", "use": "sig"}]})
                else:
                    self._send(404, {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    platform.token_requests.append(form)
                    try:
                        claims = platform.verify_client_assertion(form["client_assertion"])
                    except Exception as exc:
                        self._send(401, {"error": "invalid_client", "error_description": str(exc)})
                        return
                    assert claims["iss"] == CLIENT_ID and claims["sub"] == CLIENT_ID
                    token = uuid.uuid4().hex
                    platform.tokens.add(token)
                    self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                                     "scope": form.get("scope", "")})
                elif self.path == "/lineitems/7/scores":
                    auth = self.headers.get("Authorization", "")
                    if auth.removeprefix("Bearer ") not in platform.tokens:
                        self._send(401, {"error": "no token"})
                        return
                    assert self.headers.get("Content-Type", "").startswith("application/vnd.ims.lis.v1.score+json")
                    platform.scores.append(json.loads(body))
                    self._send(200, {})
                else:
                    self._send(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify_client_assertion(self, assertion: str) -> dict:
        """The tool's JWT, checked against the JWKS the tool publishes (as an LMS would fetch it)."""
        kid = jwt.get_unverified_header(assertion).get("kid")
        keys = [k for k in self.tool_jwks["keys"] if kid is None or k.get("kid") == kid]
        assert keys, f"no tool key {kid!r} in the tool's JWKS"
        public = RSAAlgorithm.from_jwk(json.dumps(keys[0]))
        return jwt.decode(assertion, public, algorithms=["RS256"], audience=f"{self.url}/token")

    def id_token(self, *, nonce: str, message_type: str = "LtiResourceLinkRequest", roles=None, custom=None,
                 key=None, extra: dict | None = None, sub: str = "lms-user-17") -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "iat": now, "exp": now + 300, "nonce": nonce,
            "name": "Lin Learner", "given_name": "Lin", "family_name": "Learner", "email": "lin@lms.example.edu",
            CLAIM + "message_type": message_type, CLAIM + "version": "1.3.0", CLAIM + "deployment_id": DEPLOYMENT,
            CLAIM + "roles": roles or ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM + "context": {"id": "course-1", "label": "AI-101", "title": "AI engineering"},
        }
        if message_type == "LtiResourceLinkRequest":
            claims[CLAIM + "resource_link"] = {"id": "link-1", "title": "Lab 1"}
            claims[CLAIM + "target_link_uri"] = "https://skillforge.example/lti/launch/"
            claims[CLAIM + "custom"] = custom if custom is not None else {"lab": "tiny-answer"}
            claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
                "scope": [AGS + "lineitem", AGS + "score"], "lineitem": f"{self.url}/lineitems/7",
                "lineitems": f"{self.url}/lineitems"}
        claims.update(extra or {})
        return jwt.encode(claims, _pem(key or self.key), algorithm="RS256", headers={"kid": self.kid})

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def platform(db):
    from lti_tool.models import Key, LtiDeployment, LtiRegistration

    lms = Platform()
    Key.objects.generate()
    registration = LtiRegistration.objects.create(
        name="Test LMS", issuer=ISSUER, client_id=CLIENT_ID, auth_url=f"{ISSUER}/auth",
        token_url=f"{lms.url}/token", keyset_url=f"{lms.url}/jwks")
    LtiDeployment.objects.create(registration=registration, deployment_id=DEPLOYMENT, is_active=True)
    lms.registration = registration
    lms.tool_jwks = Client().get("/lti/jwks/").json()
    yield lms
    lms.close()


def login_initiation(client: Client, platform: Platform) -> tuple[str, str]:
    """Step 1: the LMS sends the browser to the tool's login URL; the tool sends it to the LMS's auth URL."""
    response = client.post(f"/lti/login/{platform.registration.uuid}/", {
        "iss": ISSUER, "login_hint": "17", "target_link_uri": "https://skillforge.example/lti/launch/",
        "lti_message_hint": "m", "client_id": CLIENT_ID})
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "id_token" and query["scope"] == "openid"
    assert query["redirect_uri"].endswith("/lti/launch/") and query["response_mode"] == "form_post"
    return query["state"], query["nonce"]


def launch(client: Client, platform: Platform, **token_args):
    state, nonce = login_initiation(client, platform)
    return client.post("/lti/launch/", {"id_token": platform.id_token(nonce=nonce, **token_args), "state": state})


def test_the_tool_publishes_its_public_keys(platform):
    keys = Client().get("/lti/jwks/").json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and "d" not in keys[0]


def test_a_resource_launch_logs_the_learner_in_and_opens_the_lab(platform, tiny_lab):
    from lti.models import LaunchedLab

    client = Client()
    response = launch(client, platform)
    assert response.status_code == 302 and response["Location"] == "/labs/tiny-answer/submit/"
    page = client.get("/labs/tiny-answer/submit/")
    assert page.status_code == 200 and b'name="file_0"' in page.content
    launched = LaunchedLab.objects.get()
    assert launched.lab == tiny_lab and launched.lti_user.sub == "lms-user-17"
    assert launched.lineitem == f"{platform.url}/lineitems/7" and launched.can_send_scores
    assert launched.user.email == "lin@lms.example.edu" and not launched.user.has_usable_password()
    # A second launch is the same account.
    launch(client, platform)
    assert LaunchedLab.objects.count() == 1 and LaunchedLab.objects.get().user == launched.user


def test_a_token_signed_by_another_key_is_refused_without_logging_in(platform, tiny_lab):
    client = Client()
    response = launch(client, platform, key=_rsa_key())
    assert response.status_code == 400
    assert b"could not be verified" in response.content
    assert "_auth_user_id" not in client.session


def test_a_replayed_or_unsolicited_launch_is_refused(platform, tiny_lab):
    client = Client()
    state, nonce = login_initiation(client, platform)
    token = platform.id_token(nonce=nonce)
    assert client.post("/lti/launch/", {"id_token": token, "state": state}).status_code == 302
    assert client.post("/lti/launch/", {"id_token": token, "state": state}).status_code == 400  # nonce used
    assert Client().post("/lti/launch/", {"id_token": token, "state": "state-forged"}).status_code == 400
    assert Client().post("/lti/launch/", {"id_token": "not.a.jwt", "state": state}).status_code == 400
    assert Client().get("/lti/launch/").status_code == 405


def test_an_inactive_deployment_or_unknown_lab_says_so(platform, tiny_lab):
    from lti_tool.models import LtiDeployment

    response = launch(Client(), platform, custom={"lab": "no-such-lab"})
    assert response.status_code == 404 and b"no published lab" in response.content
    LtiDeployment.objects.update(is_active=False)
    response = launch(Client(), platform)
    assert response.status_code == 403 and b"not active" in response.content


def test_deep_linking_lets_an_instructor_pick_a_lab_and_answers_with_a_signed_content_item(platform, tiny_lab):
    client = Client()
    settings_claim = {"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
        "deep_link_return_url": f"{platform.url}/deep-link-return", "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["window"], "data": "opaque-42"}}
    instructor = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
    page = launch(client, platform, message_type="LtiDeepLinkingRequest", roles=instructor, extra=settings_claim)
    assert page.status_code == 200 and b'value="tiny-answer"' in page.content
    response = client.post("/lti/deep-link/", {"lab": "tiny-answer"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'action="{platform.url}/deep-link-return"' in html
    assert f"form-action 'self' {platform.url}" in response["Content-Security-Policy"]
    token = html.split('name="JWT" value="', 1)[1].split('"', 1)[0]
    key = RSAAlgorithm.from_jwk(json.dumps(platform.tool_jwks["keys"][0]))
    message = jwt.decode(token, key, algorithms=["RS256"], audience=ISSUER)
    assert message["iss"] == CLIENT_ID and message[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert message["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-42"
    (item,) = message["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"lab": "tiny-answer"}
    assert item["url"].endswith("/lti/launch/") and item["lineItem"]["scoreMaximum"] == 1


def test_a_learner_cannot_deep_link(platform, tiny_lab):
    settings_claim = {"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
        "deep_link_return_url": f"{platform.url}/r", "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["window"]}}
    response = launch(Client(), platform, message_type="LtiDeepLinkingRequest", extra=settings_claim)
    assert response.status_code == 403


@pytest.mark.slow
def test_a_graded_attempt_sends_the_best_score_back_through_ags(platform, tiny_lab, sandbox_name,
                                                                  django_capture_on_commit_callbacks):
    """Launch → submit in the editor → the worker's grade_attempt (real sandbox) → the score reaches the LMS."""
    from skillforge.celery import app
    from submissions.models import Submission
    from submissions.services import grade_attempt

    client = Client()
    launch(client, platform)
    app.conf.task_always_eager = True  # the passback task runs here instead of on a broker
    try:
        for text in ("print(42)\n", "print(41)\n"):  # a pass, then a worse attempt
            with django_capture_on_commit_callbacks(execute=False):
                assert client.post("/labs/tiny-answer/submit/", {"file_0": text}).status_code == 302
            grade_attempt(attempt_id=Submission.objects.first().latest_attempt.pk)
    finally:
        app.conf.task_always_eager = False
    assert len(platform.scores) == 2
    first, second = platform.scores
    assert first["userId"] == "lms-user-17" and first["scoreGiven"] == 1.0 and first["scoreMaximum"] == 1
    assert first["activityProgress"] == "Completed" and first["gradingProgress"] == "FullyGraded"
    assert second["scoreGiven"] == 1.0  # the best score, not the worse latest one
    assert second["timestamp"] > first["timestamp"]
    assert platform.token_requests[0]["scope"].split() == sorted([AGS + "lineitem", AGS + "score"])
    from lti.models import LaunchedLab

    assert LaunchedLab.objects.get().last_score == 1.0
