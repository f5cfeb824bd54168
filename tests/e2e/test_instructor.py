"""Journey 2, the instructor: create a lab from the browser → edit it in the editor → validate →
publish → see analytics after a learner submits → re-grade.

Built on the authoring pages (platform/authoring/, /instructor/)."""

from __future__ import annotations

import re
import time

import pytest
from browser_support import assert_accessible

pytestmark = [pytest.mark.services, pytest.mark.slow]

PASSWORD = "an-instructor-passphrase"


@pytest.fixture
def alan(site):
    from accounts.services import create_account

    return create_account(username="alan", password=PASSWORD, email="alan@example.org", role="instructor")


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name=re.compile(f"Log out {username}")).wait_for()


def wait_until_done(page, selector: str, timeout: float = 180) -> str:
    """A live section (htmx) polls while it has hx-get; done when it stops."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        section = page.locator(selector)
        if section.count() and section.get_attribute("hx-get") is None:
            return section.inner_text()
        time.sleep(0.2)
    pytest.fail(f"{selector} still running after {timeout} s: {page.locator(selector).inner_text()}")


def learner_submits(lab_slug: str, text: str):
    """A learner submits through the site's own use-case; the real worker grades it."""
    from accounts.services import create_account
    from catalog.models import Lab
    from submissions import services
    from submissions.models import Submission

    grace = create_account(username="grace", password="a-learner-passphrase", email="grace@example.org")
    lab = Lab.objects.select_related("current_version").get(slug=lab_slug)
    submission = services.submit(learner=grace, lab=lab,
                                 intake=services.Intake(source=Submission.Source.EDITOR, files={"main.py": text}))
    deadline = time.monotonic() + 120
    while (attempt := submission.latest_attempt).status not in ("graded", "error"):
        assert time.monotonic() < deadline, f"not graded: {attempt}"
        time.sleep(0.25)
    assert attempt.status == "graded", attempt.message
    return attempt


def test_instructor(new_page, shots, alan):
    page = new_page()
    log_in(page, "alan", PASSWORD)

    # --- create a lab from the browser ----------------------------------------------------------
    page.goto("/instructor/")
    shots(page, "instructor-home")
    page.get_by_role("link", name="Create a lab").click()
    page.get_by_label("Slug").fill("hello-answer")
    page.get_by_label("Title").fill("Hello, answer")
    page.get_by_role("button", name="Create the draft").click()
    page.get_by_text("created from the skeleton lab").wait_for()
    shots(page, "draft")

    # --- edit the brief in the editor (textarea.code, Markdown) -----------------------------------
    page.get_by_role("link", name="Edit the brief").click()
    page.locator(".cm-wrap[data-lang=markdown] .cm-editor").wait_for()
    page.locator(".cm-content").first.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n\n## Written in the browser\n\nPrint the answer, and nothing else.\n")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("brief.md saved.").wait_for()
    assert page.locator(".preview h2", has_text="Written in the browser").count() == 1
    shots(page, "brief-saved")
    page.get_by_role("link", name="draft hello-answer").click()

    # --- validate, live -----------------------------------------------------------------------------
    page.get_by_role("button", name="Validate").click()
    page.wait_for_url(re.compile(r"/instructor/validations/\d+/$"))
    shots(page, "validating", full=False)
    text = wait_until_done(page, "#validation")
    assert "passed" in text.lower(), text
    assert page.locator("#validation .facts-list li.bad").count() == 0
    shots(page, "validated")
    assert_accessible(page, "the validation page")

    # --- publish ------------------------------------------------------------------------------------
    page.get_by_role("button", name="Publish this version").click()
    page.get_by_text(re.compile("Published hello-answer")).wait_for()
    shots(page, "published")

    # --- a learner submits; the analytics show it ----------------------------------------------------
    attempt = learner_submits("hello-answer", "print(41)\n")
    assert attempt.passed is False
    page.get_by_role("link", name="Analytics").first.click()
    page.get_by_role("heading", name=re.compile("^Analytics")).wait_for()
    assert page.get_by_text("Prints the answer").count() >= 1
    shots(page, "analytics", phone=True)

    # --- fix a check (TOML in the editor), validate and publish a new version ------------------------
    page.goto("/instructor/labs/hello-answer/")
    open_draft = page.get_by_role("link", name="Open the draft")
    if open_draft.count():
        open_draft.click()
    else:
        page.get_by_role("button", name="Edit (make a draft)").click()
    page.get_by_role("link", name="checks/checks.toml").click()
    page.locator(".cm-wrap[data-lang=toml] .cm-editor").wait_for()
    checks = page.evaluate("document.querySelector('textarea.code').value")
    brevity = checks.index('id = "brevity"')
    fixed = checks[:brevity] + checks[brevity:].replace("weight = 1", "weight = 2", 1)
    assert fixed != checks
    page.locator(".cm-content").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(fixed)
    shots(page, "check-edited")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("link", name="draft hello-answer").click()
    page.get_by_role("button", name="Validate").click()
    assert "passed" in wait_until_done(page, "#validation").lower()
    page.get_by_role("button", name="Publish this version").click()
    page.get_by_text(re.compile("Published hello-answer")).wait_for()

    # --- re-grade the learner's submission on the new version ----------------------------------------
    page.get_by_role("link", name="Re-grade submissions").click()
    page.get_by_role("button", name="Show which").click()
    page.get_by_role("heading", name=re.compile("1 submission would be re-graded")).wait_for()
    shots(page, "regrade-preview")
    page.get_by_role("button", name="Start re-grading").click()
    page.wait_for_url(re.compile(r"/instructor/regrades/\d+/$"))
    text = wait_until_done(page, "#regrade")
    assert "1 of 1" in text, text
    page.reload()
    page.get_by_text("unchanged").first.wait_for()
    assert "0.25 → 0.40" in page.locator("main").inner_text() or "1 unchanged" in page.locator("main").inner_text()
    shots(page, "regraded", phone=True)
