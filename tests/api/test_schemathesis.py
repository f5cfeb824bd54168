"""Schemathesis against the served OpenAPI schema (/api/openapi.json), in-process over WSGI.

Every operation, authenticated with a learner's bearer token, a bounded number of generated
requests each (valid and invalid: bad UUIDs, odd JSON, wrong content types): no 500, every
status code, content type, header and body as the schema says. The rate limits and the
queued-attempts cap are raised for the run so the fuzzer explores the views rather than
the 429s (which the schema documents; test_security_ratelimit.py tests them).

The schema is fetched from the site itself when this module is collected (schemathesis'
lazy from_fixture does not work with pytest 9), so it is exactly what /api/openapi.json serves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from skillforge.wsgi import application

REPO = Path(__file__).resolve().parents[2]
TINY_LABS = REPO / "tests" / "integration" / "fixtures" / "labs"
MAX_EXAMPLES = int(os.environ.get("SKILLFORGE_FUZZ_EXAMPLES", "50"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]

pytestmark = [pytest.mark.django_db]

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture(name="auth_headers")
def fixture_auth_headers(db, tmp_path, settings) -> dict[str, str]:
    """A learner's token, the tiny lab published, and requests that run inside this test's transaction."""
    from django.core import signals
    from django.db import close_old_connections

    from accounts.services import create_account, issue_token
    from catalog.services import import_labs

    settings.SKILLFORGE_DATA_DIR = tmp_path / "data"
    settings.SKILLFORGE_RATE_LIMITS = {}
    settings.SKILLFORGE_MAX_QUEUED_ATTEMPTS = 0
    import_labs(path=TINY_LABS)
    user = create_account(username="fuzzer", password="fuzz-fuzz-fuzz-fuzz", email="fuzz@example.org")
    _, raw = issue_token(user=user, name="schemathesis")
    # Django closes the connection when a request ends; its own test client stops that, and so do we.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Bearer {raw}"}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_conforms_to_its_schema(case, auth_headers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # accepted submissions stay queued: no broker here
        case.call_and_validate(headers=auth_headers, checks=CHECKS)
