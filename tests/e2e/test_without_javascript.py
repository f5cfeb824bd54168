"""The same pages with JavaScript off: plain textareas, "Save draft" as a button, a submission
page that says how to see the result, still graded by the real worker."""

from __future__ import annotations

import re
import time

import pytest
from browser_support import DESKTOP

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_without_javascript(browser, site, shots):
    from accounts.services import create_account

    create_account(username="noor", password="a-no-script-passphrase", email="noor@example.org")
    context = browser.new_context(viewport=DESKTOP, base_url=site, java_script_enabled=False)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/?next=/labs/async-python/submit/")
        page.get_by_label("Username").fill("noor")
        page.get_by_label("Password").fill("a-no-script-passphrase")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile("/labs/async-python/submit/$"))
        textarea = page.locator("textarea[name=file_0]")
        assert textarea.is_visible() and page.locator(".cm-editor").count() == 0
        textarea.fill("print('work in progress')\n")
        page.get_by_role("button", name="Save draft").click()
        page.get_by_text("Draft saved.").wait_for()
        assert page.locator("textarea[name=file_0]").input_value() == "print('work in progress')\n"
        shots(page, "editor-no-js")

        page.get_by_role("button", name="Submit for grading").click()
        page.wait_for_url(re.compile(r"/submissions/[0-9a-f-]{36}/$"))
        refresh = page.get_by_role("link", name="Refresh the status")
        assert refresh.is_visible()
        deadline = time.monotonic() + 120
        while page.locator("#attempt").get_attribute("data-status") in ("queued", "running"):
            assert time.monotonic() < deadline, "not graded in 120 s"
            time.sleep(1)
            refresh.click()
        assert page.locator("#attempt").get_attribute("data-status") == "graded"
        assert page.locator(".score.failed").count() == 1 and page.locator(".check-fail").count() >= 1
        shots(page, "graded-no-js")
    finally:
        context.close()
