"""Learner text on the site's pages: program output, feedback messages that echo it,
notebooks, and file names in rejection messages. All of it must arrive as text: no tag,
event handler or javascript: URL of the learner's making may survive into the HTML.

Pages are fetched with Django's test client, as the learner's browser would, and parsed
with html.parser: the only <script> allowed is the site's own (static htmx).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from security_support import attack_files

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def assert_inert(html: str) -> None:
    """No active content but the site's own: scripts only from /static/, no on* handlers,
    no javascript: (or data:) URLs, no iframes, objects or SVGs."""
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("iframe", "object", "embed", "svg", "img", "base"), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (tag, name, value)
    lowered = html.lower()
    for raw in ("<script>alert", "<img src=x", "<svg/onload", "<iframe", 'href="javascript:'):
        assert raw not in lowered, raw


def pages(browser, submission) -> list[str]:
    """The submission page and its live (htmx) fragment, as the learner's browser gets them."""
    out = []
    for url in (f"/submissions/{submission.id}/", f"/submissions/{submission.id}/status/", "/submissions/"):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")
        out.append(response.content.decode())
    return out


def test_program_output_and_feedback_echo_render_as_text(attack, browser, backend):
    outcome = attack("xss_output")
    assert outcome.attempt.status == "graded" and outcome.attempt.score == 0.4
    echoed = outcome.checks["says_something"]["message"]
    assert echoed.startswith("Observed <script>alert('sf-xss-first-line')</script>")  # learner text in feedback
    assert "javascript:alert('sf-xss-link')" in outcome.log
    for html in pages(browser, outcome.submission):
        assert_inert(html)
    detail = pages(browser, outcome.submission)[0]
    assert "Observed &lt;script&gt;alert(&#x27;sf-xss-first-line&#x27;)&lt;/script&gt;" in detail
    assert "&lt;a href=&quot;javascript:alert(&#x27;sf-xss-link&#x27;)&quot;&gt;click me&lt;/a&gt;" in detail
    assert "{{ request.user }} {% debug %}" in detail  # template syntax in output is not evaluated either


NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {},
         "source": ["[free badge](javascript:alert('sf-xss-md-link')) <script>alert('sf-xss-md')</script>"]},
        {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1, "source": ["display(evil)"],
         "outputs": [
             {"output_type": "display_data", "metadata": {},
              "data": {"text/html": ["<script>alert('sf-xss-nb-html')</script>",
                                     "<a href=\"javascript:alert('sf-xss-nb-link')\">report</a>"],
                       "application/javascript": ["alert('sf-xss-nb-js')"]}},
             {"output_type": "stream", "name": "stdout", "text": ["<img src=x onerror=alert('sf-xss-nb-img')>"]},
         ]},
    ],
}


def test_notebook_outputs_with_script_and_javascript_links_render_as_text(attack, browser, backend):
    outcome = attack(attack_files("notebook_echo", **{"analysis.ipynb": json.dumps(NOTEBOOK)}))
    assert outcome.attempt.status == "graded" and outcome.attempt.score == 0.4
    assert "<script>alert('sf-xss-nb-html')</script>" in outcome.log  # the payload made it to the page's data
    for html in pages(browser, outcome.submission):
        assert_inert(html)


def test_a_garbage_notebook_is_refused_and_its_rejection_page_is_inert(browser, mallory, attack_lab, data_dir):
    """An .ipynb that is not valid nbformat is refused at intake (graders/intake.py), recorded
    as a rejected submission whose message quotes nbformat; the page shows it as text."""
    from submissions.models import Submission

    garbage = '{"cells": [<script>alert("sf-xss-garbage")</script>, "nbformat": "four"'
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("main.py", "print(1)\n")
        zf.writestr("analysis.ipynb", garbage)
    response = browser.post(f"/labs/{attack_lab.slug}/submit/",
                            {"zip": SimpleUploadedFile("work.zip", buf.getvalue(), content_type="application/zip")})
    assert response.status_code == 200
    submission = Submission.objects.get(learner=mallory)
    assert submission.status == "rejected" and "analysis.ipynb is not a valid Jupyter notebook" in submission.message
    assert not submission.attempts.exists()
    assert_inert(response.content.decode())


def test_a_file_name_in_a_rejection_message_renders_as_text(browser, mallory, attack_lab, data_dir):
    """The submit page quotes the offending name back; the name is the learner's."""
    import io
    import zipfile

    from submissions.models import Submission

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("main.py", "print(1)\n")
        zf.writestr("../<script>alert('sf-xss-name')</script><img src=x onerror=alert(1)>.py", "x = 1\n")
    response = browser.post(f"/labs/{attack_lab.slug}/submit/",
                            {"zip": SimpleUploadedFile("work.zip", buf.getvalue(), content_type="application/zip")})
    assert response.status_code == 200
    submission = Submission.objects.get(learner=mallory)
    assert submission.status == "rejected" and "<script>alert('sf-xss-name')</script>" in submission.message
    html = response.content.decode()
    assert "Not accepted:" in html and "&lt;script&gt;alert(&#x27;sf-xss-name&#x27;)&lt;/script&gt;" in html
    assert_inert(html)
    for html in pages(browser, submission):
        assert_inert(html)


def test_another_learners_submission_is_not_found(api, browser, attack_lab, data_dir, django_capture_on_commit_callbacks):
    """Pages and API 404 on a submission that is not yours (no guessing ids across learners)."""
    from accounts.services import create_account
    from submissions import services

    ada = create_account(username="ada", password="correct-horse-battery-staple", email="ada@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        theirs = services.submit(learner=ada, lab=attack_lab,
                                 intake=services.Intake(source="api_files", files={"main.py": "print('ada')\n"}))
    for url in (f"/submissions/{theirs.id}/", f"/submissions/{theirs.id}/status/"):
        assert browser.get(url).status_code == 404
    assert api.get(f"/api/submissions/{theirs.id}").status_code == 404
    assert str(theirs.id) not in api.get("/api/submissions").content.decode()
    assert str(theirs.id) not in browser.get("/submissions/").content.decode()
