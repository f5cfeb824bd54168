"""Journey 3, the hiring manager (no account): open the portfolio link → open a credential →
verify it (and re-run its grading) → see verification fail after tampering."""

from __future__ import annotations

import json
import re
import time

import pytest
from browser_support import REPO, assert_accessible

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def ada_passed(site):
    """A learner who passed the async lab through the real worker, with a public portfolio and published code."""
    from accounts.services import create_account
    from catalog.models import Lab
    from portfolios.models import LabVisibility
    from portfolios.services import portfolio_for
    from submissions import services
    from submissions.models import Submission

    ada = create_account(username="ada", password="correct-horse-battery-staple", email="ada@example.org")
    lab = Lab.objects.select_related("current_version").get(slug="async-python")
    portfolio = portfolio_for(ada)  # the name credentials carry is the one set when they are issued
    portfolio.handle, portfolio.public, portfolio.display_name = "ada-builds", True, "Ada Lovelace"
    portfolio.headline = "Backend engineer learning LLM systems"
    portfolio.save()
    solution = (REPO / "labs" / "async-python" / "solution" / "fetcher.py").read_text()
    submission = services.submit(learner=ada, lab=lab,
                                 intake=services.Intake(source=Submission.Source.EDITOR, files={"fetcher.py": solution}))
    deadline = time.monotonic() + 120
    while not hasattr(submission.latest_attempt, "credential"):
        assert time.monotonic() < deadline, f"no credential within 120 s: {submission.latest_attempt}"
        time.sleep(0.25)
    attempt = submission.latest_attempt
    assert attempt.passed, attempt.report
    LabVisibility.objects.update_or_create(portfolio=portfolio, lab=lab, defaults={"visible": True, "publish_code": True})
    return attempt.credential


def test_hiring_manager(new_page, shots, ada_passed):
    page = new_page()  # a fresh browser: no session, no account

    # --- the portfolio link ------------------------------------------------------------------------
    page.goto("/u/ada-builds/")
    page.get_by_role("heading", name="Ada Lovelace", level=1).wait_for()
    assert page.get_by_text("Log out").count() == 0
    assert page.get_by_text("Backend engineer learning LLM systems").count() == 1
    shots(page, "portfolio", phone=True)
    assert_accessible(page, "the public portfolio")

    page.get_by_role("link", name="Graded report and code").click()
    page.get_by_role("heading", name="Graded report").wait_for()
    assert page.locator("tbody tr").count() == 8  # one row per check
    assert "async def fetch_all" in page.locator(".code-file pre").first.inner_text()
    shots(page, "graded-report-and-code", phone=True)

    # --- open the credential, verify it --------------------------------------------------------------
    page.go_back()
    page.get_by_role("link", name="Credential", exact=True).click()
    page.get_by_role("heading", level=1, name=re.compile("^Async HTTP fetcher")).wait_for()
    assert page.get_by_text("Earned by").first.inner_text().endswith("Ada Lovelace")
    shots(page, "credential", phone=True)

    page.get_by_role("link", name="Verify this credential").click()
    page.locator(".verdict").wait_for()
    assert page.locator(".verdict").inner_text() == "Verified"
    statuses = page.locator(".checks li .status").all_inner_texts()
    assert len(statuses) >= 8 and {s.lower() for s in statuses} == {"pass"}, statuses
    shots(page, "verified", phone=True)
    assert_accessible(page, "the verify page")

    # Re-run the grading in a fresh sandbox: the new report's bytes match the pinned digest.
    page.get_by_role("button", name="Re-run the grading in a fresh sandbox").click()
    page.get_by_text("Re-grade", exact=True).wait_for(timeout=120_000)
    regrade = page.locator(".checks li").last.inner_text()
    assert "PASS" in regrade.upper() and "Re-grade" in regrade, regrade
    shots(page, "regraded")

    # --- tamper with it: the same document with one name changed no longer verifies ------------------
    document = page.request.get(f"/credentials/{ada_passed.id}.json").text()
    assert "Ada Lovelace" in document
    tampered = document.replace("Ada Lovelace", "Eve Mallory")
    json.loads(tampered)  # still well-formed JSON: only the signature can tell
    page.goto("/verify/")
    page.locator(".cm-content").first.click()
    page.keyboard.insert_text(tampered)
    page.get_by_role("button", name="Verify", exact=True).click()
    page.locator(".verdict").wait_for()
    verdict = page.locator(".verdict").inner_text()
    assert verdict.startswith("Not verified"), verdict
    assert "signature" in verdict.lower(), verdict
    failed = page.locator(".checks li", has=page.locator(".status-fail"))
    assert failed.count() >= 1
    assert "Signature" in failed.first.inner_text()
    # The page shows what this site really issued under that id, so the change is plain to see.
    assert page.get_by_text("What this site actually issued under this id").count() == 1
    assert "Ada Lovelace" in page.locator(".badge-line").first.inner_text()
    shots(page, "tampered-not-verified", phone=True)
