"""Journey 1, the learner: sign up → open the async lab → edit in the editor → submit →
watch it grade live → fix → pass → see the credential → publish the portfolio."""

from __future__ import annotations

import re
import time

import pytest
from browser_support import REPO, assert_accessible

pytestmark = [pytest.mark.services, pytest.mark.slow]

SOLUTION = (REPO / "labs" / "async-python" / "solution" / "fetcher.py").read_text()
# The bug to fix: 4xx answers are retried like 5xx ones (the no_retry_4xx check fails).
BUGGY = SOLUTION.replace("return 500 <= status <= 599", "return status >= 400")
assert BUGGY != SOLUTION


def set_editor_text(page, text: str) -> None:
    """Select everything in the visible editor and type over it (inserted as typed text, like a paste)."""
    editor = page.locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def editor_text(page) -> str:
    return page.evaluate("document.querySelector('textarea[name=file_0]').cmView.state.doc.toString()")


def watch_grading(page, shots, label: str, timeout: float = 120) -> list[str]:
    """Follow the live status (no reloads) until graded; screenshot each state as it first shows."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = page.locator("#attempt").get_attribute("data-status")
        if not seen or seen[-1] != status:
            seen.append(status)
            if status in ("queued", "running"):
                shots(page, f"{label}-{status}", full=False)
        if status in ("graded", "error", "rejected") and page.locator("#attempt[aria-busy]").count() == 0:
            return seen
        time.sleep(0.1)
    pytest.fail(f"not graded within {timeout} s; statuses seen {seen}")


def test_learner(new_page, shots, site, published):
    labs = len(published)
    page = new_page()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    # --- sign up -------------------------------------------------------------------------------
    page.goto("/")
    assert page.locator(".labs li").count() == labs
    shots(page, "home", phone=True)
    assert_accessible(page, "the lab list")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("lin")
    page.get_by_label("Email").fill("lin@example.org")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-learner-passphrase")
    page.get_by_label("Password confirmation").fill("a-long-learner-passphrase")
    shots(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text("Welcome, lin!").wait_for()

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_text(f"0 of {labs} labs passed").wait_for()
    assert page.locator(".lab-progress li").count() == labs
    shots(page, "dashboard-empty", phone=True)
    assert_accessible(page, "the dashboard")

    # --- open the async lab and edit in the editor ----------------------------------------------
    page.goto("/")
    page.get_by_role("link", name=re.compile("^Async HTTP fetcher")).click()
    shots(page, "lab-brief")
    assert_accessible(page, "a lab's brief")
    page.get_by_role("link", name="Open the editor and submit").click()
    page.locator(".cm-editor").wait_for()
    assert page.locator("textarea[name=file_0]").is_hidden()  # enhanced: the textarea stays, hidden, in the form
    assert page.locator(".cm-wrap[data-lang=python]").count() == 1
    # Syntax highlighting: the Python keywords are styled spans, not plain text.
    assert page.locator(".cm-content span", has_text=re.compile(r"^(def|import|async|from)$")).count() >= 3
    shots(page, "editor-starter", phone=True)
    assert_accessible(page, "the editor page")

    set_editor_text(page, BUGGY)
    page.get_by_text(re.compile(r"^Draft saved at")).wait_for()
    assert editor_text(page) == BUGGY
    page.reload()  # the draft is on the server: a reload shows it
    page.locator(".cm-editor").wait_for()
    assert editor_text(page) == BUGGY
    assert page.get_by_text(re.compile("Your draft from .* is in the editor")).count() == 1
    shots(page, "editor-draft-restored")

    # --- keyboard submit, watch it grade live ------------------------------------------------------
    page.locator(".cm-content").click()
    before = len(navigations)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r"/submissions/[0-9a-f-]{36}/$"))
    first_url = page.url
    seen = watch_grading(page, shots, "first")
    assert seen[-1] == "graded", seen
    assert seen[0] in ("queued", "running"), seen
    assert len(navigations) == before + 1  # graded live: no reload since the submit
    assert page.locator(".score.failed").count() == 1
    failing = page.locator(".check-fail")
    assert failing.count() >= 1
    assert "Does not retry 4xx responses" in failing.first.inner_text()
    assert failing.first.locator("details").get_attribute("open") is not None  # failing checks open by default
    passing = page.locator(".check-pass details").first
    assert passing.get_attribute("open") is None
    passing.locator("summary").click()  # expand a passing check's details
    assert passing.get_attribute("open") is not None
    assert page.locator("[data-diff]").count() == 0  # no previous attempt yet
    shots(page, "first-graded", phone=True)
    assert_accessible(page, "a graded submission")

    # --- fix, resubmit, pass ---------------------------------------------------------------------
    page.get_by_role("link", name="Back to the editor").click()
    page.locator(".cm-editor").wait_for()
    assert editor_text(page) == BUGGY
    set_editor_text(page, SOLUTION)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r"/submissions/[0-9a-f-]{36}/$"))
    assert page.url != first_url
    seen = watch_grading(page, shots, "second")
    assert seen[-1] == "graded", seen
    assert page.locator(".score.passed").count() == 1
    diff = page.locator("[data-diff]").inner_text()
    assert "1 more check passes; score +0.12" in diff, diff
    assert "Now passes: Does not retry 4xx responses" in diff
    history = page.locator("table.history tbody tr")
    assert history.count() == 2
    assert "passed" in history.first.inner_text() and "this one" in history.first.inner_text()
    page.get_by_text("You earned a verifiable credential").wait_for()
    shots(page, "second-graded-passed", phone=True)

    # --- the credential ------------------------------------------------------------------------
    page.get_by_role("link", name="See and share it").click()
    page.get_by_role("heading", level=1).wait_for()
    assert "Async HTTP fetcher" in page.locator("h1").inner_text()
    shots(page, "credential", phone=True)
    page.get_by_role("link", name="Verify this credential").click()
    page.locator(".verdict.ok").wait_for()
    shots(page, "credential-verified")

    page.goto("/dashboard/")
    page.get_by_text(f"1 of {labs} labs passed").wait_for()
    assert page.locator(".lab-progress li.state-passed").count() == 1
    assert page.locator(".cred").count() == 1
    assert page.get_by_text("Publish your portfolio so others can see").count() == 1
    shots(page, "dashboard-passed", phone=True)

    # --- publish the portfolio -------------------------------------------------------------------
    page.get_by_role("link", name="Publish", exact=True).click()
    page.get_by_label("Handle").fill("lin-codes")
    page.get_by_label("Publish my portfolio").check()
    page.get_by_label("Display name").fill("Lin Example")
    page.locator("input[name^=code-]").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your portfolio is public.").wait_for()
    shots(page, "portfolio-settings")
    page.get_by_role("link", name="/u/lin-codes/").click()
    page.get_by_role("heading", name="Lin Example").wait_for()
    assert page.get_by_role("link", name=re.compile("^Async HTTP fetcher")).count() == 1
    shots(page, "portfolio-public", phone=True)
    assert_accessible(page, "the public portfolio")
