"""Privacy: a learner exports all their data and deletes their account.

Deletion removes their submissions (and files), drafts, portfolio and tokens; credentials
already issued are revoked with the reason "holder deleted account" and a copy the learner
shared still verifies, as revoked; afterwards no text column of any table holds their name,
email, code or draft.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from test_credentials_support import fixture_key_dir, graded_attempt  # noqa: F401 - fixtures, requested by name
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_alan,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
)

from accounts.services import create_account, issue_token
from credentials import verification
from credentials.models import Credential
from credentials.services import issue_for_attempt
from learning.models import Draft
from portfolios.models import Portfolio
from privacy.models import AuditEvent
from privacy.services import HOLDER_DELETED, DeletionRefused, delete_account
from submissions.models import Attempt, Submission

pytestmark = [pytest.mark.django_db]


@pytest.fixture(name="holder")
def fixture_holder(tiny_lab, key_dir, django_capture_on_commit_callbacks):
    """A learner with a unique name, email, code and draft, a credential, a public portfolio and a token."""
    tag = secrets.token_hex(5)
    user = create_account(username=f"holder-{tag}", password=PASSWORD, email=f"holder-{tag}@example.org")
    get_user_model().objects.filter(pk=user.pk).update(first_name=f"Given{tag}", last_name=f"Family{tag}")
    code = f"print(42)  # code-{tag}\n"
    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(user, tiny_lab, files={"main.py": code})
    credential = issue_for_attempt(attempt=attempt)
    Draft.objects.create(learner=user, lab=tiny_lab, lab_version=tiny_lab.current_version,
                         files={"main.py": f"# draft-{tag}\n"}, size=20)
    Portfolio.objects.create(user=user, handle=f"holder-{tag}", public=True, display_name=f"Shown{tag}",
                             headline=f"Headline{tag}")
    issue_token(user=user, name=f"token-{tag}")
    user.refresh_from_db()
    # What names them in the database (their code is in files: submission_dir, checked apart).
    user.markers = [user.username, user.email, f"Given{tag}", f"Family{tag}", f"draft-{tag}",
                    f"Shown{tag}", f"Headline{tag}", f"token-{tag}"]
    user.code_marker = f"code-{tag}"
    user.credential = credential
    user.submission = attempt.submission
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- export -------------------------------------------------------------------------------------------------


def test_export_zip_holds_the_data_and_the_files(holder):
    response = logged_in(holder).get("/accounts/data/export.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="skillforge-data.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["username"] == holder.username and data["account"]["email"] == holder.email
    [submission] = data["submissions"]
    assert submission["id"] == str(holder.submission.id)
    assert submission["attempts"][0]["report"]["score"] == 1.0
    assert data["drafts"][0]["files"]["main.py"].startswith("# draft-")
    assert data["portfolio"]["handle"] == holder.portfolio.handle
    assert [t["name"] for t in data["api_tokens"]] == [f"token-{holder.markers[0].split('-')[1]}"]
    assert "digest" not in json.dumps(data["api_tokens"])  # the token hash is ours, not data about them
    names = set(archive.namelist())
    assert f"submissions/{holder.submission.id}/main.py" in names
    assert archive.read(f"submissions/{holder.submission.id}/main.py").decode() == f"print(42)  # {holder.code_marker}\n"
    assert archive.read(f"credentials/{holder.credential.id}.json").decode() == holder.credential.document
    assert "drafts/tiny-answer/main.py" in names
    event = AuditEvent.objects.get(action="export")
    assert event.actor == holder and event.details == {"submissions": 1, "credentials": 1}


def test_export_json_and_only_your_own(holder, grace):
    data = logged_in(grace).get("/accounts/data/export.json").json()
    assert data["account"]["username"] == "grace" and data["submissions"] == [] and data["credentials"] == []
    assert holder.username not in json.dumps(data)
    assert Client().get("/accounts/data/export.json").status_code == 302  # to log in


# --- deletion -----------------------------------------------------------------------------------------------


def text_everywhere() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema itself
            chunks.append(f"{table}: " + repr(cursor.fetchall()))
    return "\n".join(chunks)


def test_deleting_the_account_removes_everything_and_revokes_the_credentials(holder, settings,
                                                                             django_capture_on_commit_callbacks):
    shared_copy = holder.credential.document.encode()  # what the learner gave a hiring manager
    files = holder.submission.files_dir
    assert files.is_dir()
    before = text_everywhere()
    assert [m for m in holder.markers if m not in before] == []  # the scan sees them before
    client = logged_in(holder)
    assert client.get("/accounts/delete/").status_code == 200
    refused = client.post("/accounts/delete/", {"password": "wrong", "confirm": "delete my account"})
    assert refused.status_code == 400 and "That is not your password." in refused.content.decode()
    assert get_user_model().objects.filter(pk=holder.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "Delete my account"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Log in" in client.get("/").content.decode()  # logged out
    assert not get_user_model().objects.filter(pk=holder.pk).exists()
    assert not Submission.objects.exists() and not Attempt.objects.exists() and not Draft.objects.exists()
    assert not Portfolio.objects.exists()
    assert not files.exists()

    credential = Credential.objects.get(pk=holder.credential.pk)
    assert credential.revoked and credential.revocation_reason == HOLDER_DELETED
    assert (credential.learner, credential.attempt, credential.document, credential.jwt) == (None, None, "", "")
    result = verification.verify_bytes(shared_copy)
    status = result.check("status")
    assert not result.verified and status.code == "revoked" and HOLDER_DELETED in status.message
    assert result.check("signature").status == verification.PASS  # still ours, still intact: only revoked
    assert Client().get(f"/credentials/{credential.id}/").status_code == 404
    assert Client().get(f"/credentials/{credential.id}.json").status_code == 404
    assert Client().get(f"/u/{holder.markers[0]}/").status_code == 404

    everything = text_everywhere()
    left = [marker for marker in holder.markers if marker in everything]
    assert not left, f"personal data left after deletion: {left}"
    event = AuditEvent.objects.get(action="account_deleted")
    assert event.actor is None
    assert event.details == {"submissions": 1, "drafts": 1, "credentials_revoked": [str(credential.id)]}


def test_the_verify_page_says_revoked_for_a_deleted_holders_copy(holder):
    shared_copy = holder.credential.document
    delete_account(user=holder)
    page = Client().post("/verify/", {"credential": shared_copy}).content.decode()
    assert "holder deleted account" in page


def test_an_instructor_with_audited_overrides_is_refused_with_a_reason(alan, grace, tiny_lab,
                                                                      django_capture_on_commit_callbacks):
    from authoring.overrides import override_grade

    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(grace, tiny_lab, score=0.5)
    override_grade(attempt=attempt, instructor=alan, score=0.9, reason="The check was too strict.")
    with pytest.raises(DeletionRefused, match="audited grade overrides"):
        delete_account(user=alan)
    assert get_user_model().objects.filter(pk=alan.pk).exists()
    response = logged_in(alan).post("/accounts/delete/", {"password": PASSWORD, "confirm": "delete my account"})
    assert response.status_code == 302 and response["Location"] == "/accounts/data/"
    assert get_user_model().objects.filter(pk=alan.pk).exists()


def test_the_data_page_links_export_and_deletion(holder):
    page = logged_in(holder).get("/accounts/data/").content.decode()
    assert 'href="/accounts/data/export.zip"' in page and 'action="/accounts/delete/"' in page
    assert 'href="/accounts/data/"' in logged_in(holder).get("/accounts/tokens/").content.decode()
