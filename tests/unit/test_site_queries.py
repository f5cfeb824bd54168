"""No N+1 on the pages bench/web.py loads: the lab list, a lab page, a submission page and a
portfolio each run as many queries with many rows as with one.

Each test renders its page once over a small data set to count the queries (the page may
change; its count is its own business), then grows the rows the page lists (labs,
submissions and attempts, credentials) and asserts with django_assert_num_queries that
the count did not move. A loose ceiling catches a page that grows heavy all the same.
"""

from __future__ import annotations

import re
import shutil

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from test_credentials_support import fixture_key_dir, graded_attempt  # noqa: F401 - fixtures, requested by name
from test_site_support import (  # noqa: F401
    PASSWORD,
    TINY_LAB,
    fixture_ada,
    fixture_data_dir,
    fixture_tiny_lab,
)

pytestmark = pytest.mark.django_db

CEILING = 30  # queries any of these pages may run at all


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    print(f"{url}: {len(captured.captured_queries)} queries")
    return len(captured.captured_queries)


@pytest.fixture(name="more_labs")
def fixture_more_labs(tmp_path, tiny_lab):
    """Make n more published labs (copies of the tiny lab under other slugs); returns them."""
    from catalog.models import Lab
    from catalog.services import import_labs

    def make(n: int) -> list:
        root = tmp_path / "more-labs"
        for i in range(n):
            dest = root / f"tiny-{i}"
            shutil.copytree(TINY_LAB, dest)
            toml = (dest / "lab.toml").read_text()
            toml = re.sub(r'(?m)^slug = .*$', f'slug = "tiny-{i}"', toml)
            (dest / "lab.toml").write_text(re.sub(r'(?m)^title = .*$', f'title = "Tiny answer {i}"', toml))
        import_labs(path=root)
        return list(Lab.objects.filter(slug__startswith="tiny-").exclude(slug="tiny-answer")
                    .select_related("current_version"))

    return make


def graded(learner, lab, n: int, django_capture_on_commit_callbacks) -> list:
    with django_capture_on_commit_callbacks(execute=False):  # no broker: rows only
        return [graded_attempt(learner, lab, score=score) for score in ([0.0, 1.0] * n)[:n]]


def test_the_lab_list_does_not_query_per_lab(client, tiny_lab, more_labs, django_assert_num_queries):
    one = queries(client, "/")
    more_labs(4)
    with django_assert_num_queries(one):
        body = client.get("/").content.decode()
    assert "Tiny answer 3" in body and one <= CEILING


def test_the_lab_page_does_not_query_per_submission(client, ada, tiny_lab, key_dir, django_capture_on_commit_callbacks,
                                                    django_assert_num_queries):
    client.login(username="ada", password=PASSWORD)
    graded(ada, tiny_lab, 1, django_capture_on_commit_callbacks)
    one = queries(client, "/labs/tiny-answer/")
    graded(ada, tiny_lab, 5, django_capture_on_commit_callbacks)
    with django_assert_num_queries(one):
        assert client.get("/labs/tiny-answer/").status_code == 200
    assert one <= CEILING


def test_the_submission_page_does_not_query_per_attempt_or_past_submission(
        client, ada, tiny_lab, key_dir, django_capture_on_commit_callbacks, django_assert_num_queries):
    from submissions.models import Attempt

    client.login(username="ada", password=PASSWORD)
    first = graded(ada, tiny_lab, 2, django_capture_on_commit_callbacks)[-1]  # a diff against the one before
    url = f"/submissions/{first.submission_id}/"
    one = queries(client, url)
    graded(ada, tiny_lab, 6, django_capture_on_commit_callbacks)  # more rows in its history
    latest = Attempt.objects.order_by("-queued_at", "-id").first()
    assert queries(client, f"/submissions/{latest.submission_id}/") == one  # the newest, with a full history
    with django_assert_num_queries(one):
        assert client.get(url).status_code == 200
    assert one <= CEILING


def test_the_portfolio_does_not_query_per_credential(client, ada, tiny_lab, more_labs, key_dir,
                                                     django_capture_on_commit_callbacks, django_assert_num_queries):
    from credentials.services import issue_for_attempt
    from portfolios.models import Portfolio

    def passed(lab) -> None:
        issue_for_attempt(attempt=graded(ada, lab, 2, django_capture_on_commit_callbacks)[-1])

    passed(tiny_lab)
    Portfolio.objects.create(user=ada, handle="ada-lovelace", public=True)
    one = queries(client, "/u/ada-lovelace/")
    for lab in more_labs(3):
        passed(lab)
    Portfolio.objects.get(user=ada).save()  # a new ETag: the page is rendered again, not a 304
    with django_assert_num_queries(one):
        body = client.get("/u/ada-lovelace/").content.decode()
    assert "Tiny answer 2" in body and one <= CEILING
