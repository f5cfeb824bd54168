"""The REST API: auth, submitting, and every kind of bad input ending as a recorded rejection."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_ada,
    fixture_ada_api,
    fixture_alan,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
    make_zip,
    token_client,
)

from accounts.models import ApiToken
from accounts.services import token_digest
from submissions.models import Attempt, Submission

pytestmark = pytest.mark.django_db
URL = "/api/labs/tiny-answer/submissions"


def post_json(client: Client, body, url: str = URL):
    return client.post(url, data=json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                       content_type="application/json")


def post_zip(client: Client, data: bytes, name: str = "work.zip"):
    return client.post(URL, {"zip": SimpleUploadedFile(name, data, content_type="application/zip")})


# --- accepted ------------------------------------------------------------------------------


def test_json_files_are_accepted_stored_and_queued(ada, ada_api, tiny_lab, data_dir,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_json(ada_api, {"files": {"main.py": "print(42)\n"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["lab"] == "tiny-answer" and body["source"] == "api_files"
    assert body["attempt"]["status"] == "queued" and body["attempt"]["report"] is None
    submission = Submission.objects.get(pk=body["id"])
    assert submission.learner == ada and submission.status == "accepted"
    assert submission.content_hash == body["content_hash"] and submission.content_hash.startswith("sha256:")
    assert (data_dir / "submissions" / body["id"] / "main.py").read_text() == "print(42)\n"
    assert submission.lab_version == tiny_lab.current_version
    assert len(callbacks) == 1  # enqueued only once the transaction commits


def test_a_zip_is_accepted(ada_api, tiny_lab, data_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = post_zip(ada_api, make_zip({"work/main.py": b"print(42)\n"}))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "api_zip"
    assert (data_dir / "submissions" / body["id"] / "main.py").is_file()  # the common folder is stripped


def test_get_returns_status_timings_and_report(ada_api, tiny_lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        created = post_json(ada_api, {"files": {"main.py": "print(42)\n"}}).json()
    response = ada_api.get(f"/api/submissions/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "queued"
    assert set(body["attempt"]) >= {"queued_at", "started_at", "finished_at", "report", "score", "passed", "digest"}
    assert body["url"].endswith(f"/submissions/{created['id']}/")


# --- auth ----------------------------------------------------------------------------------


def test_no_credentials_is_401(client, tiny_lab):
    response = post_json(client, {"files": {"main.py": "print(42)"}})
    assert response.status_code == 401
    assert not Submission.objects.exists()


def test_a_wrong_token_is_401(tiny_lab):
    response = post_json(Client(HTTP_AUTHORIZATION="Bearer sf_not-a-real-token"), {"files": {"main.py": "x"}})
    assert response.status_code == 401


def test_tokens_are_stored_as_hashes_and_record_their_use(ada):
    client = token_client(ada)
    token = ApiToken.objects.get(user=ada)
    raw = client.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    assert token.digest == token_digest(raw) and raw not in token.digest and token.prefix == raw[:10]
    assert token.last_used_at is None
    assert client.get("/api/submissions").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_browser_session_works_with_csrf(ada, tiny_lab, django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    client.login(username="ada", password=PASSWORD)
    assert post_json(client, {"files": {"main.py": "print(42)"}}).status_code == 403  # no CSRF token
    client.get("/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(URL, data=json.dumps({"files": {"main.py": "print(42)"}}),
                               content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201


def test_learners_see_only_their_own_submissions_instructors_their_labs(ada_api, grace, alan, tiny_lab,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        sid = post_json(ada_api, {"files": {"main.py": "print(42)"}}).json()["id"]
    assert token_client(grace).get(f"/api/submissions/{sid}").status_code == 404
    assert token_client(alan).get(f"/api/submissions/{sid}").status_code == 404  # not his lab (staff's)
    type(tiny_lab).objects.filter(pk=tiny_lab.pk).update(owner=alan)
    assert token_client(alan).get(f"/api/submissions/{sid}").status_code == 200
    assert [s["id"] for s in ada_api.get("/api/submissions").json()] == [sid]
    assert token_client(grace).get("/api/submissions").json() == []


# --- bad input: a 4xx JSON message, and a recorded rejected submission where the lab exists ---


def test_unknown_lab_is_a_404_with_a_message(ada_api, tiny_lab):
    response = post_json(ada_api, {"files": {"main.py": "print(42)"}}, url="/api/labs/no-such-lab/submissions")
    assert response.status_code == 404
    assert response.json() == {"detail": "No lab named 'no-such-lab'."}
    assert not Submission.objects.exists()


def _assert_rejected(response, needle: str) -> Submission:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "rejected"
    assert needle in body["detail"] and body["detail"] == body["message"]
    submission = Submission.objects.get(pk=body["id"])
    assert submission.status == "rejected" and submission.message == body["detail"]
    assert submission.content_hash == "" and not submission.attempts.exists()
    assert not submission.files_dir.exists()
    return submission


BAD_ZIPS = {
    "not a zip": (b"this is not a zip file", "not a valid zip"),
    "dot-dot entry": (make_zip({"../evil.py": b"x"}), "points outside the submission folder"),
    "nested dot-dot": (make_zip({"a/../../evil.py": b"x"}), "points outside the submission folder"),
    "absolute entry": (make_zip({"/etc/evil.py": b"x"}), "is an absolute path"),
    "symlink": (make_zip({"main.py": b"print(42)"}, symlinks={"link.py": "/etc/passwd"}), "symbolic link"),
    "too many files": (make_zip({f"f{i}.py": b"x" for i in range(6)}), "the limit is 5"),
    "unpacks too big": (make_zip({"main.py": b"#" * 20000, "b.py": b"#" * 20000, "c.py": b"#" * 30000}),
                        "unpacks to more than the limit"),
    "non-UTF-8 source": (make_zip({"main.py": b"print('\xff\xfe')\n"}), "is not UTF-8 text"),
    "empty zip": (make_zip({}), "empty"),
}


@pytest.mark.parametrize("case", BAD_ZIPS)
def test_bad_zips_are_recorded_as_rejected(ada_api, tiny_lab, data_dir, case):
    data, needle = BAD_ZIPS[case]
    submission = _assert_rejected(post_zip(ada_api, data), needle)
    assert submission.source == "api_zip"


def test_an_upload_over_the_size_limit_is_rejected(ada_api, tiny_lab):
    import os

    data = make_zip({"main.py": os.urandom(40000)})  # incompressible, over the lab's 32 KiB upload limit
    _assert_rejected(post_zip(ada_api, data), "the limit is 32768")


def test_a_multipart_without_a_zip_field_is_rejected(ada_api, tiny_lab):
    response = ada_api.post(URL, {"other": SimpleUploadedFile("x.zip", make_zip({"main.py": b"x"}))})
    _assert_rejected(response, "multipart file field named 'zip'")


BAD_JSON = {
    "not JSON": ("{not json", "not valid JSON"),
    "no files key": ({"file": {"main.py": "x"}}, '{"files"'),
    "files not an object": ({"files": ["main.py"]}, '{"files"'),
    "content not text": ({"files": {"main.py": 42}}, '{"files"'),
    "lone surrogate": ('{"files": {"main.py": "print(\\"\\udcff\\")"}}', "not valid UTF-8"),
    "dot-dot name": ({"files": {"../main.py": "x"}}, "points outside"),
    "absolute name": ({"files": {"/tmp/main.py": "x"}}, "absolute path"),
    "too many files": ({"files": {f"f{i}.py": "x" for i in range(6)}}, "the limit is 5"),
    "file too big": ({"files": {"main.py": "#" * 40000}}, "the limit per file is 32768"),
    "empty": ({"files": {}}, "empty"),
}


@pytest.mark.parametrize("case", BAD_JSON)
def test_bad_json_is_recorded_as_rejected(ada_api, tiny_lab, data_dir, case):
    body, needle = BAD_JSON[case]
    submission = _assert_rejected(post_json(ada_api, body), needle)
    assert submission.source == "api_files"


def test_an_unsupported_content_type_is_rejected(ada_api, tiny_lab):
    response = ada_api.post(URL, data="main.py", content_type="text/plain")
    _assert_rejected(response, "got text/plain")


def test_rejections_never_queue_anything(ada_api, tiny_lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_zip(ada_api, b"garbage")
    assert callbacks == [] and not Attempt.objects.exists()


# --- the schema ----------------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/openapi.json").json()
    submit = schema["paths"]["/api/labs/{slug}/submissions"]["post"]
    assert set(submit["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"201", "400", "404"} <= set(submit["responses"])
    assert "/api/submissions/{submission_id}" in schema["paths"]
    assert any("bearer" in json.dumps(s).lower() for s in schema["components"]["securitySchemes"].values())
    assert client.get("/api/docs").status_code == 200


def test_the_lab_list_is_public(client, tiny_lab):
    labs = client.get("/api/labs").json()
    assert [lab["slug"] for lab in labs] == ["tiny-answer"]
    assert labs[0]["content_hash"] == tiny_lab.current_version.content_hash


NOTEBOOK = (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "id": "a", '
            b'"metadata": {}, "execution_count": null, "outputs": [], "source": "print(42)"}]}')


def test_a_notebook_to_a_lab_that_takes_none_is_rejected_plainly(ada_api, tiny_lab):
    response = ada_api.post(URL, {"file": SimpleUploadedFile("work.ipynb", NOTEBOOK, content_type="application/json")})
    _assert_rejected(response, "This lab does not take notebooks")
