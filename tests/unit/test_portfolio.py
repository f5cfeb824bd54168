"""Public portfolios: opt-in, per-lab visibility, published code, unpublishing, caching, Open Graph."""

from __future__ import annotations

import pytest
from test_credentials_support import fixture_key_dir, graded_attempt  # noqa: F401 - fixtures, requested by name
from test_site_support import PASSWORD, fixture_ada, fixture_data_dir, fixture_grace, fixture_tiny_lab  # noqa: F401

from credentials import services
from portfolios.models import LabVisibility, Portfolio

pytestmark = pytest.mark.django_db

CODE = 'print(42)  # <script>alert("x")</script>\n'


@pytest.fixture(name="passed")
def fixture_passed(ada, tiny_lab, key_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(ada, tiny_lab, files={"main.py": CODE})
    return services.issue_for_attempt(attempt=attempt)


def publish(user, handle="ada-lovelace", **fields) -> Portfolio:
    portfolio, _ = Portfolio.objects.update_or_create(user=user, defaults={"handle": handle, "public": True, **fields})
    return portfolio


def test_nothing_is_public_until_the_learner_opts_in(passed, ada, client):
    assert client.get("/u/ada/").status_code == 404
    Portfolio.objects.create(user=ada, handle="ada-lovelace", public=False)
    assert client.get("/u/ada-lovelace/").status_code == 404


def test_the_portfolio_shows_labs_scores_dates_skills_and_verify_links(passed, ada, client):
    publish(ada, display_name="Ada Lovelace", headline="Async Python & <b>RAG</b>")
    page = client.get("/u/ada-lovelace/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Ada Lovelace" in body and "Tiny answer" in body and "1.00" in body
    assert passed.issued_at.strftime("%Y-%m-%d") in body
    assert f"/verify/?credential={passed.id}" in body and f"/credentials/{passed.id}/" in body
    assert 'href="/skills/test/"' in body
    assert "&lt;b&gt;RAG&lt;/b&gt;" in body and "<b>RAG</b>" not in body  # learner text is escaped
    assert '<meta property="og:title" content="Ada Lovelace · SkillForge portfolio">' in body
    assert '<meta property="og:url" content="https://skillforge.test/u/ada-lovelace/">' in body
    assert f'<meta property="og:image" content="https://skillforge.test/credentials/{passed.id}.png">' in body
    assert "<script" not in body  # readable without JavaScript, and nothing runs


def test_the_lab_page_shows_the_graded_report_and_code_only_when_published(passed, ada, tiny_lab, client):
    portfolio = publish(ada)
    page = client.get("/u/ada-lovelace/labs/tiny-answer/").content.decode()
    assert "Prints 42" in page and passed.report_digest in page
    assert "alert" not in page  # code not published
    LabVisibility.objects.create(portfolio=portfolio, lab=tiny_lab, publish_code=True)
    portfolio.save()
    page = client.get("/u/ada-lovelace/labs/tiny-answer/").content.decode()
    assert "main.py" in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert '<script>alert("x")</script>' not in page


def test_a_hidden_lab_and_a_revoked_credential_are_not_shown(passed, ada, tiny_lab, client):
    portfolio = publish(ada)
    LabVisibility.objects.create(portfolio=portfolio, lab=tiny_lab, visible=False)
    portfolio.save()
    assert "Tiny answer" not in client.get("/u/ada-lovelace/").content.decode()
    assert client.get("/u/ada-lovelace/labs/tiny-answer/").status_code == 404
    LabVisibility.objects.filter(portfolio=portfolio).update(visible=True)
    services.revoke(credential=passed, reason="test")
    assert "Tiny answer" not in client.get("/u/ada-lovelace/").content.decode()


def test_pages_are_cacheable_and_the_same_for_every_visitor(passed, ada, grace, client):
    publish(ada)
    anonymous = client.get("/u/ada-lovelace/")
    assert "public" in anonymous["Cache-Control"] and "max-age=300" in anonymous["Cache-Control"]
    assert anonymous["ETag"]
    assert "Cookie" not in anonymous.get("Vary", "")
    again = client.get("/u/ada-lovelace/", HTTP_IF_NONE_MATCH=anonymous["ETag"])
    assert again.status_code == 304
    client.login(username="grace", password=PASSWORD)
    logged_in = client.get("/u/ada-lovelace/")
    assert logged_in.content == anonymous.content  # nothing of the visitor's session in a public page


def test_settings_control_visibility_and_unpublishing(passed, ada, grace, tiny_lab, client):
    client.login(username="ada", password=PASSWORD)
    assert client.get("/portfolio/").status_code == 200
    refused = client.post("/portfolio/", {"handle": "", "public": "on"})
    assert b"Choose a handle" in refused.content
    reserved = client.post("/portfolio/", {"handle": "admin", "public": "on"})
    assert b"reserved" in reserved.content
    saved = client.post("/portfolio/", {"handle": "Ada-L", "public": "on", "display_name": "Ada",
                                        f"visible-{tiny_lab.pk}": "on", f"code-{tiny_lab.pk}": "on"})
    assert saved.status_code == 302
    assert client.get("/u/ada-l/").status_code == 200
    assert "main.py" in client.get("/u/ada-l/labs/tiny-answer/").content.decode()
    client.post("/portfolio/", {"handle": "ada-l", "public": "on"})  # both boxes unticked
    assert "Tiny answer" not in client.get("/u/ada-l/").content.decode()
    client.post("/portfolio/", {"action": "unpublish"})
    assert client.get("/u/ada-l/").status_code == 404
    client.logout()
    client.login(username="grace", password=PASSWORD)
    taken = client.post("/portfolio/", {"handle": "ada-l", "public": "on"})
    assert b"already exists" in taken.content


def test_the_skill_page_lists_its_labs(tiny_lab, client):
    page = client.get("/skills/test/")
    assert page.status_code == 200 and b"Tiny answer" in page.content
    assert b"No current lab" in client.get("/skills/cobol/").content
