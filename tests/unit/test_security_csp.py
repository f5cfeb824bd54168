"""The Content-Security-Policy forbids inline script, and the site needs none.

1. Every page of the authorization matrix, for every role allowed to see it, is parsed:
   no <script> without src (JSON data blocks aside), no on*= attribute, no javascript:
   URL, every script from this site; and the response carries the policy.
2. test_security_browser.py: Chromium runs the editor and htmx under the real header.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse
from test_credentials_support import fixture_key_dir  # noqa: F401 - fixture, requested by name
from test_security_support import (  # noqa: F401 - fixtures, requested by name
    ROLES,
    body,
    fixture_world,
    fixture_world_module,
    matrix,
    route_params,
)

from skillforge.security import csp_header

pytestmark = [pytest.mark.django_db]

DATA_TYPES = {"application/json", "application/ld+json", "text/template"}


class InlineScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._open_inline: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
            if name.startswith("hx-on") or (name.startswith("hx-") and (value or "").lstrip().startswith("js:")):
                self.problems.append(f"<{tag} {name}> (htmx would eval it)")
        if tag == "script":
            src = values.get("src")
            if src is None and (values.get("type") or "").lower() not in DATA_TYPES:
                self._open_inline = tag
                self.problems.append("<script> without src")
            elif src is not None and not src.startswith("/"):
                self.problems.append(f"<script src={src}> from another origin")


def inline_script(html: str) -> list[str]:
    finder = InlineScriptFinder()
    finder.feed(html)
    return finder.problems


def test_the_policy_forbids_inline_script_and_eval():
    policy = dict(part.split(" ", 1) for part in csp_header().split("; "))
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'self'" and policy["frame-ancestors"] == "'none'"
    from skillforge.security import csp_update

    with pytest.raises(ValueError, match="script-src"):
        csp_update(script_src="'self' 'unsafe-inline'")


def test_the_finder_finds_what_it_should():
    assert inline_script("<script>alert(1)</script>") == ["<script> without src"]
    assert inline_script('<a href="javascript:alert(1)">x</a><b onclick="x()">') == [
        "<a href=javascript:…>", "<b onclick=…>"]
    assert inline_script('<script src="/static/x.js"></script><script type="application/json">{}</script>') == []
    assert inline_script('<script src="https://cdn.example/x.js"></script>')


PAGES = [row for row in matrix() if row.method == "GET" and not row.prefix]


@pytest.mark.parametrize("row", PAGES, ids=[row.route or "/" for row in PAGES])
def test_no_page_needs_inline_script(row, world):
    samples = world.samples()
    query = {"authoring:version_diff": f"?to={world.version.content_hash}",
             "authoring:version_zip": f"?version={world.version.content_hash}"}.get(row.name, "")
    url = (reverse(row.name, kwargs={p: samples[p] for p in route_params(row.route)}) if row.name else "/" + row.route)
    for role in ROLES:
        if not row.allowed[role]:
            continue
        response = world.client(role).get(url + query)
        assert "script-src 'self';" in response["Content-Security-Policy"], url
        if "text/html" in response.get("Content-Type", ""):
            problems = inline_script(body(response))
            assert not problems, f"{role} GET {url}: {problems}"


def test_admin_pages_need_no_inline_script(world):
    from django.contrib import admin

    client = world.client("staff")
    urls = [reverse("admin:index")] + [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
                                       for m in admin.site._registry]
    for url in urls:
        assert not inline_script(body(client.get(url))), url
