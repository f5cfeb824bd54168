"""IDOR: nobody reaches another account's objects by putting its id in a URL.

Private objects are keyed by UUIDs or signed ids; the two integer-keyed routes left are
instructor working objects looked up among the requester's own labs. For every route with
an id in it, another learner and another instructor (session and, for the API, bearer
token) ask for the learner's objects and get a refusal with nothing of theirs in it.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from test_credentials_support import fixture_key_dir  # noqa: F401 - fixture, requested by name
from test_security_support import (  # noqa: F401 - fixtures, requested by name
    assert_refused,
    fixture_world,
    fixture_world_module,
    matrix,
    resolver_routes,
    route_params,
)

pytestmark = [pytest.mark.django_db]

# Integer ids allowed in URLs, and why each is not a key to anything of a learner's.
INTEGER_IDS = {
    "instructor/validations/<int:run_id>/": "a validation run of a lab draft, looked up among the instructor's own labs",
    "instructor/regrades/<int:job_id>/": "a re-grade job, looked up among the instructor's own labs",
}
ID_PARAMS = {"submission_id", "credential_id", "draft_id", "run_id", "job_id", "attempt_id", "token_id", "a", "b"}
PUBLIC = {row.route for row in matrix() if all(row.allowed.values())}


def test_no_route_takes_a_countable_id_except_the_listed_ones():
    counted = sorted(route for route, _ in resolver_routes() if "<int:" in route and route not in INTEGER_IDS)
    assert not counted, f"routes keyed by a bare integer (use <uuid:…> or <sid:…>, docs/security.md): {counted}"


def _object_rows():
    return [row for row in matrix() if set(route_params(row.route)) & ID_PARAMS and row.route not in PUBLIC]


@pytest.mark.parametrize("row", _object_rows(), ids=lambda row: row.route)
@pytest.mark.parametrize("role", ["other learner", "other instructor"])
def test_another_account_cannot_use_the_learners_ids(row, role, world):
    samples = world.samples()
    url = reverse(row.name, kwargs={p: samples[p] for p in route_params(row.route)})
    api = row.name.startswith("api:")
    for client in ([world.client(role, api=True), world.client(role)] if api else [world.client(role)]):
        response = client.post(url, {}) if row.method == "POST" else client.get(url)
        assert_refused(response, world, f"{role} {row.method} {url}")


def test_the_api_lists_and_reads_only_your_own(world):
    from submissions.models import Submission

    mine = world.client("learner", api=True).get("/api/submissions").json()
    assert [s["id"] for s in mine] == [str(world.submission.id)]
    theirs = world.client("other learner", api=True).get("/api/submissions").json()
    assert str(world.submission.id) not in str(theirs)
    # Walking ids: every submission in the database, asked for by the other learner, is a 404 unless it is hers.
    for sid in Submission.objects.values_list("id", flat=True):
        response = world.client("other learner", api=True).get(f"/api/submissions/{sid}")
        expected = 200 if sid == world.other_submission.id else 404
        assert response.status_code == expected


def test_a_signed_id_cannot_be_forged_or_counted(world):
    from skillforge.security import SignedIdConverter

    segment = SignedIdConverter().to_url(world.attempt.pk)
    good = reverse("authoring:override", args=[world.attempt.pk])
    assert good == f"/instructor/attempts/{segment}/override/" and segment.startswith(f"{world.attempt.pk}.")
    client = world.client("lab instructor")
    assert client.get(good).status_code == 200
    signature = segment.split(".", 1)[1]
    for forged in (f"{world.attempt.pk + 1}.{signature}",  # the next id with this one's signature
                   str(world.attempt.pk),  # the bare number
                   segment[:-1] + ("A" if segment[-1] != "A" else "B")):  # a changed signature
        assert client.get(f"/instructor/attempts/{forged}/override/").status_code == 404, forged


def test_revoking_someone_elses_token_does_nothing(world):
    from accounts.models import ApiToken

    url = reverse("revoke_token", args=[world.token_id])
    assert world.client("other learner").post(url).status_code == 404
    assert ApiToken.objects.filter(pk=world.token_id).exists()
    assert world.client("learner").post(url).status_code == 302
    assert not ApiToken.objects.filter(pk=world.token_id).exists()


def test_saving_a_draft_never_touches_another_learners(world):
    from learning.models import Draft

    before = Draft.objects.get(learner=world.users["learner"]).files
    response = world.client("other learner").post(reverse("save_draft", args=[world.lab.slug]),
                                                  {"file_0": "print('mine')\n"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert Draft.objects.get(learner=world.users["learner"]).files == before
    assert Draft.objects.get(learner=world.users["other learner"]).files == {"main.py": "print('mine')\n"}


def test_an_instructor_sees_submissions_to_their_labs_only(world):
    from submissions.models import Submission

    assert set(Submission.objects.visible_to(world.users["lab instructor"])) == {world.submission, world.other_submission}
    assert not Submission.objects.visible_to(world.users["other instructor"]).exists()
    assert Submission.objects.visible_to(world.users["staff"]).count() == 2
    assert list(Submission.objects.visible_to(world.users["other learner"])) == [world.other_submission]
