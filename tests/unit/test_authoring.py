"""Authoring without a sandbox: roles, drafts and their files, lab.toml problems with file and
line, zips in and out (round trip with the repository layout), publishing locked until a
green validation, re-grade selection, overrides, analytics numbers and CSV."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from test_credentials_support import graded_attempt
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    TINY_LAB,
    TINY_LABS,
    TINY_WRONG,
    fixture_ada,
    fixture_alan,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
    make_zip,
)

from accounts.services import create_account
from authoring import analytics, bundles, drafts, regrade, services
from authoring.drafts import AuthoringError
from authoring.models import GradeOverride, LabDraft, RunStatus, ValidationRun
from authoring.overrides import effective, override_grade
from catalog.models import Lab
from graders.hashing import tree_hash

pytestmark = pytest.mark.django_db


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def web(alan) -> Client:
    return login("alan")


@pytest.fixture
def owned_lab(tiny_lab, alan, settings):
    """The tiny lab, owned by alan (repo labs are staff-owned), with the fixtures' wrong solutions."""
    settings.SKILLFORGE_LAB_TESTS_DIR = TINY_WRONG
    Lab.objects.filter(pk=tiny_lab.pk).update(owner=alan)
    tiny_lab.refresh_from_db()
    return tiny_lab


@pytest.fixture
def draft(alan, data_dir) -> LabDraft:
    return services.create_draft(owner=alan, slug="tiny-quiz", title="Tiny quiz")


def lab_zip(folder=TINY_LAB, prefix="labs/tiny-answer/", extra: dict[str, bytes] | None = None,
            drop: tuple[str, ...] = ()) -> bytes:
    entries = {prefix + p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    entries = {k: v for k, v in entries.items() if not any(k.startswith(prefix + d) for d in drop)}
    entries.update(extra or {})
    return make_zip(entries)


# --- roles -------------------------------------------------------------------------------------------


INSTRUCTOR_URLS = ["/instructor/", "/instructor/new/", "/instructor/import/", "/instructor/labs/tiny-answer/",
                   "/instructor/labs/tiny-answer/analytics/", "/instructor/labs/tiny-answer/regrade/",
                   "/instructor/labs/tiny-answer/similarity/", "/instructor/labs/tiny-answer/analytics/summary.csv"]


@pytest.mark.parametrize("url", INSTRUCTOR_URLS)
def test_a_learner_gets_403_and_a_visitor_is_sent_to_log_in(url, ada, owned_lab, client):
    assert login("ada").get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_another_instructors_labs_and_drafts_are_404(owned_lab, draft, data_dir):
    create_account(username="barbara", password=PASSWORD, role="instructor")
    other = login("barbara")
    assert other.get(f"/instructor/drafts/{draft.pk}/").status_code == 404
    assert other.get("/instructor/labs/tiny-answer/analytics/").status_code == 404
    assert other.post(f"/instructor/drafts/{draft.pk}/publish/").status_code == 404
    assert "tiny-quiz" not in other.get("/instructor/").content.decode()


def test_staff_see_and_edit_repo_labs(tiny_lab, data_dir, settings):
    settings.SKILLFORGE_LAB_TESTS_DIR = TINY_WRONG
    admin = create_account(username="root", password=PASSWORD, role="learner")
    admin.is_staff = True
    admin.save()
    web = login("root")
    assert "tiny-answer" in web.get("/instructor/").content.decode()
    response = web.post("/instructor/labs/tiny-answer/edit/")
    draft = LabDraft.objects.get(slug="tiny-answer")
    assert response["Location"] == f"/instructor/drafts/{draft.pk}/"


# --- drafts and their files -------------------------------------------------------------------------------


def test_the_skeleton_loads_and_its_slug_is_checked(web, alan, owned_lab, data_dir):
    page = web.post("/instructor/new/", {"slug": "tiny-answer", "title": "x"}).content.decode()
    assert "is published already" in page
    page = web.post("/instructor/new/", {"slug": "Bad Slug!", "title": "x"}).content.decode()
    assert "Enter a valid “slug”" in page
    web.post("/instructor/new/", {"slug": "quiz", "title": "Quiz"})
    draft = LabDraft.objects.get(slug="quiz")
    spec, problems = drafts.lint_folder(draft.lab_dir)
    assert problems == [] and spec.slug == "quiz" and spec.title == "Quiz"
    assert "already have a draft" in web.post("/instructor/new/", {"slug": "quiz", "title": "Q"}).content.decode()


def test_editing_a_published_lab_copies_its_version_and_wrong_solutions(web, owned_lab):
    web.post("/instructor/labs/tiny-answer/edit/")
    draft = LabDraft.objects.get(slug="tiny-answer")
    assert tree_hash(draft.lab_dir) == owned_lab.current_version.content_hash
    assert (draft.wrong_dir / "wrong_prints_zero" / "main.py").read_text() == "print(0)\n"
    assert draft.base_hash == owned_lab.current_version.content_hash
    web.post("/instructor/labs/tiny-answer/edit/")  # the same draft again, not a second one
    assert LabDraft.objects.count() == 1


def test_files_are_added_edited_and_deleted_inside_the_draft_only(web, draft):
    url = f"/instructor/drafts/{draft.pk}/files/new/"
    web.post(url, {"area": "lab", "path": "data/rows.bin", "upload": SimpleUploadedFile("rows.bin", b"\x00\x01\xff")})
    assert (draft.lab_dir / "data" / "rows.bin").read_bytes() == b"\x00\x01\xff"
    page = web.get(f"/instructor/drafts/{draft.pk}/files/lab/data/rows.bin").content.decode()
    assert "A binary file" in page and "<textarea" not in page
    for bad, message in [("../escape.py", "may not contain"), ("/etc/passwd", "not a usable file name"),
                         ("starter/main.py", "exists already")]:
        page = web.post(url, {"area": "lab", "path": bad, "content": "x"}).content.decode()
        assert message in page, bad
    page = web.post(url, {"area": "wrong", "path": "main.py", "content": "x"}).content.decode()
    assert "wrong_&lt;something&gt;" in page
    web.post(url, {"area": "wrong", "path": "wrong_zero/main.py", "content": "print(0)\r\n"})
    assert (draft.wrong_dir / "wrong_zero" / "main.py").read_text() == "print(0)\n"
    editor = web.get(f"/instructor/drafts/{draft.pk}/files/lab/starter/main.py").content.decode()
    assert re.search(r'<textarea name="content"[^>]*class="code"[^>]*data-lang="python"|'
                     r'<textarea name="content"[^>]*data-lang="python"[^>]*class="code"', editor)
    assert web.get(f"/instructor/drafts/{draft.pk}/files/lab/../lab.toml").status_code == 404
    web.post(f"/instructor/drafts/{draft.pk}/files/wrong/wrong_zero/main.py/delete/")
    assert not (draft.wrong_dir / "wrong_zero").exists()


@pytest.mark.parametrize("old, new, where", [
    ("memory_mb = 512", "memory_mb = 8192", "limits.memory_mb: 8192 is over the platform ceiling of 4096"),
    ('queue = "cpu"', 'queue = "tpu"', "queue: must be one of cpu, gpu, got 'tpu'"),
    ("[limits]", '[host]\ninspect = "rm-rf"\n\n[limits]', "host.inspect: must be one of container, promtool"),
    ('title = "Tiny quiz"', 'title = "Tiny quiz', "Illegal character"),
    ('slug = "tiny-quiz"', 'slug = "other-lab"', "slug: this draft is 'tiny-quiz'; a lab's slug cannot change"),
    ('image = "skillforge/lab-python"', 'image = "docker.io/evil:latest"',
     "image: 'docker.io/evil:latest' is not an image this platform builds (skillforge/lab-python)"),
])
def test_lab_toml_problems_name_the_file_and_line_and_are_not_saved(web, draft, old, new, where):
    before = (draft.lab_dir / "lab.toml").read_text()
    after = before.replace(old, new)
    marker = new.splitlines()[1] if "\n" in new else new
    line = after.splitlines().index(marker) + 1
    where = f"lab.toml, line {line}: {where}"
    page = web.post(f"/instructor/drafts/{draft.pk}/files/lab/lab.toml", {"content": after}).content.decode()
    expected = where.format(line=line)
    assert expected in page.replace("&#x27;", "'").replace("&quot;", '"'), page[-3000:]
    assert "Not saved" in page and (draft.lab_dir / "lab.toml").read_text() == before


def test_fraction_weights_that_do_not_sum_to_one_are_a_problem_with_a_line(draft):
    path = draft.lab_dir / "checks" / "checks.toml"
    path.write_text(path.read_text().replace("weight = 3", "weight = 0.5").replace("weight = 1", "weight = 0.25"))
    _, problems = drafts.lint_folder(draft.lab_dir)
    assert [str(p) for p in problems] == [
        "checks/checks.toml, line 6: check[0].weight: the weights look like fractions of 1 but sum to 0.75; "
        "make them sum to 1, or use whole numbers (weights are relative)"]


def test_a_missing_solution_blocks_validation_with_a_message(web, draft):
    shutil.rmtree(draft.lab_dir / "solution")
    page = web.get(f"/instructor/drafts/{draft.pk}/").content.decode()
    assert "This lab does not load yet" in page and "the lab needs a solution/ folder" in page
    page = web.post(f"/instructor/drafts/{draft.pk}/validate/", follow=True).content.decode()
    assert "Fix these first: lab.toml: the lab needs a solution/ folder" in page
    assert not ValidationRun.objects.exists()


def test_locate_finds_keys_in_tables_and_arrays_of_tables():
    text = 'slug = "x"\n[limits]\nwall_seconds = 5\n# memory_mb = 1\nmemory_mb = 9\n\n[[check]]\nid = "a"\n' \
           'weight = 1\n[[check]]\nid = "b"\nweight = 2\n[host.options]\nx = 1\n'
    assert drafts.locate(text, "slug") == 1
    assert drafts.locate(text, "limits.memory_mb") == 5
    assert drafts.locate(text, "check[1].weight") == 12
    assert drafts.locate(text, "host.options") == 13
    assert drafts.locate(text, "limits.pids") is None


def test_the_settings_form_offers_only_registered_inspectors_and_refuses_others(web, draft):
    from graders.inspectors import INSPECTORS

    page = web.get(f"/instructor/drafts/{draft.pk}/settings/").content.decode()
    offered = re.findall(r'<option value="([^"]*)"', page.split('name="inspector"')[1].split("</select>")[0])
    assert offered == [""] + sorted(INSPECTORS)
    response = web.post(f"/instructor/drafts/{draft.pk}/settings/", {"inspector": "os.system"})
    assert "Select a valid choice. os.system is not one of the available choices." in response.content.decode()


# --- zips ------------------------------------------------------------------------------------------------


def test_a_repo_lab_round_trips_through_upload_and_download(web, alan, data_dir):
    data = lab_zip(extra={"tests/labs/tiny-answer/wrong_prints_zero/main.py": b"print(0)\n"})
    response = web.post("/instructor/import/", {"zip": SimpleUploadedFile("lab.zip", data)})
    draft = LabDraft.objects.get(slug="tiny-answer")
    assert response["Location"] == f"/instructor/drafts/{draft.pk}/"
    assert tree_hash(draft.lab_dir) == tree_hash(TINY_LAB)
    exported = web.get(f"/instructor/drafts/{draft.pk}/export.zip")
    assert exported["Content-Disposition"] == 'attachment; filename="tiny-answer.zip"'
    again = bundles.read_bundle(exported.content)
    assert {p.as_posix() for p in again.wrong} == {"wrong_prints_zero/main.py"}
    assert {p.as_posix(): d for p, d in again.lab.items()} == {
        p.relative_to(TINY_LAB).as_posix(): p.read_bytes() for p in TINY_LAB.rglob("*") if p.is_file()}
    assert bundles.export_zip(slug="tiny-answer", lab_dir=draft.lab_dir, wrong_dir=draft.wrong_dir) == exported.content


def test_a_zip_of_the_lab_folder_itself_is_accepted(web, data_dir):
    web.post("/instructor/import/", {"zip": SimpleUploadedFile("l.zip", lab_zip(prefix="tiny-answer/"))})
    assert tree_hash(LabDraft.objects.get(slug="tiny-answer").lab_dir) == tree_hash(TINY_LAB)


@pytest.mark.parametrize("data, message", [
    (b"not a zip", "The upload is not a valid zip file."),
    (make_zip({"readme.md": b"hi"}), "The zip has no lab.toml where a lab keeps it"),
    (make_zip({"labs/a/lab.toml": b"", "labs/b/lab.toml": b""}), "The zip holds 2 labs (a, b)"),
    (make_zip({"../../evil/lab.toml": b"x"}), "may not contain"),
    (make_zip({"lab.toml": b"x"}, symlinks={"starter/link": "/etc/passwd"}), "symbolic links are not accepted"),
    (lab_zip(extra={"elsewhere/x.py": b"x"}), "Zip entry elsewhere/x.py is outside labs/tiny-answer/"),
    (lab_zip(drop=("solution",)), "lab.toml: the lab needs a solution/ folder"),
    (lab_zip(extra={"labs/tiny-answer/lab.toml": (TINY_LAB / "lab.toml").read_bytes().replace(
        b"cpu_seconds = 10", b"cpu_seconds = 9000")}), "lab.toml, line 12: limits.cpu_seconds: 9000 is over the platform "
                                                        "ceiling of 600"),
])
def test_a_bad_zip_is_a_form_error_naming_the_entry_or_file(web, data_dir, data, message):
    response = web.post("/instructor/import/", {"zip": SimpleUploadedFile("lab.zip", data)})
    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 200 and message in page, page[-2500:]
    assert not LabDraft.objects.exists()


def test_replacing_a_drafts_files_needs_the_same_slug(web, draft):
    before = tree_hash(draft.lab_dir)
    page = web.post(f"/instructor/drafts/{draft.pk}/replace/",
                    {"zip": SimpleUploadedFile("l.zip", lab_zip())}).content.decode()
    assert "the zip is the lab &#x27;tiny-answer&#x27;, this draft is &#x27;tiny-quiz&#x27;" in page
    assert tree_hash(draft.lab_dir) == before


# --- validation and publishing ------------------------------------------------------------------------------


def _green(draft: LabDraft) -> ValidationRun:
    """A finished green run for the draft as it is now (the sandbox part is covered by the journey test)."""
    lab_hash, wrong_hash = services.draft_hashes(draft)
    run = ValidationRun.objects.create(draft=draft, lab_hash=lab_hash, wrong_hash=wrong_hash, status=RunStatus.PASSED,
                                       facts=[{"ok": True, "text": "solution scores 1.00 (needs 1.00)", "where": ""}])
    drafts.copy_tree(draft.lab_dir, run.folder / "lab")
    return run


def test_publishing_is_refused_until_the_latest_validation_is_green_for_these_files(web, alan, draft):
    assert "Validate the draft first" in web.post(f"/instructor/drafts/{draft.pk}/publish/", follow=True).content.decode()
    run = _green(draft)
    ValidationRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    assert "is not green" in web.post(f"/instructor/drafts/{draft.pk}/publish/", follow=True).content.decode()
    run = _green(draft)
    (draft.lab_dir / "brief.md").write_text("# changed after validating\n")
    assert "changed since its last validation" in web.post(f"/instructor/drafts/{draft.pk}/publish/",
                                                           follow=True).content.decode()
    assert not Lab.objects.filter(slug="tiny-quiz").exists()
    run = _green(draft)
    response = web.post(f"/instructor/drafts/{draft.pk}/publish/")
    assert response["Location"] == "/instructor/labs/tiny-quiz/"
    lab = Lab.objects.get(slug="tiny-quiz")
    assert lab.owner == alan and lab.current_version.content_hash == run.lab_hash
    # The same files again: no new version; repo imports keep their labs staff-owned.
    assert "Nothing changed" in web.post(f"/instructor/drafts/{draft.pk}/publish/", follow=True).content.decode()
    from catalog.services import import_labs

    import_labs(path=TINY_LABS)
    assert Lab.objects.get(slug="tiny-answer").owner is None


def test_a_crashing_check_is_located_in_the_driver():
    text = 'solution could not be graded: The lab\'s grader produced no observations (exit 1). Traceback (most ' \
           'recent call last):\n  File "/grader/driver.py", line 7, in <module>\n    1/0\nZeroDivisionError'
    assert services.where(text) == "checks/driver/driver.py, line 7"
    assert services.where("no traceback") == ""


def test_a_queue_that_is_down_ends_the_validation_and_the_regrade_with_a_message(two_versions):
    from authoring.models import RegradeJob
    from skillforge.celery import app

    lab, _ = two_versions
    draft = services.draft_for_lab(user=lab.owner, lab=lab)
    run = ValidationRun.objects.create(draft=draft, lab_hash="sha256:" + "0" * 64, wrong_hash="")
    job = RegradeJob.objects.create(lab=lab, target=lab.current_version, total=0)
    with app.connection_for_write("redis://127.0.0.1:1/0") as nowhere:  # nothing listens on port 1
        services.enqueue_validation(run_id=run.pk, queue="cpu", connection=nowhere)
        regrade.enqueue_regrade(job_id=job.pk, queue="cpu", connection=nowhere)
    run.refresh_from_db()
    job.refresh_from_db()
    assert run.status == "error" and "could not be queued" in run.message
    assert job.status == "error" and "could not be queued" in job.message


# --- re-grade selection, overrides, analytics ------------------------------------------------------------------


@pytest.fixture
def two_versions(owned_lab, data_dir, tmp_path):
    """v1 with graded attempts (ada: fail then pass, grace: fail), then v2 published."""
    from catalog.services import import_labs

    ada, grace = (create_account(username=n, password=PASSWORD, role="learner") for n in ("ada2", "grace2"))
    first = graded_attempt(ada, owned_lab, score=0.0)
    second = graded_attempt(ada, owned_lab, score=1.0)
    third = graded_attempt(grace, owned_lab, score=0.0)
    old = timezone.now() - timedelta(days=3)
    from submissions.models import Submission

    Submission.objects.filter(pk=first.submission_id).update(created_at=old - timedelta(hours=2))
    Submission.objects.filter(pk=second.submission_id).update(created_at=old)
    labs = tmp_path / "v2"
    shutil.copytree(TINY_LABS, labs)
    toml = labs / "tiny-answer" / "lab.toml"
    toml.write_text(toml.read_text().replace('version = "1"', 'version = "2"'))
    import_labs(path=labs)
    owned_lab.refresh_from_db()
    return owned_lab, (first, second, third)


def test_regrade_selection_all_failing_since_and_latest(two_versions, django_capture_on_commit_callbacks):
    lab, (first, second, third) = two_versions
    target = lab.current_version

    def chosen(**kw):
        return sorted(a.pk for _, a in regrade.candidates(lab=lab, target=target, **kw))

    assert chosen(selection="all") == sorted([second.pk, third.pk])
    assert chosen(selection="all", latest_only=False) == sorted([first.pk, second.pk, third.pk])
    assert chosen(selection="failing") == [third.pk]
    assert chosen(selection="since", since=timezone.now() - timedelta(days=1)) == [third.pk]
    with django_capture_on_commit_callbacks(execute=False):
        job = regrade.start_regrade(lab=lab, target=target, user=None, selection="failing")
    assert job.total == 1 and job.items.get().old_checks == {"answer": "fail"}
    with pytest.raises(AuthoringError, match="No submissions match"):
        regrade.start_regrade(lab=lab, target=target, user=None, selection="since",
                              since=timezone.now() + timedelta(days=1))


def test_an_override_is_audited_and_becomes_the_grade_in_force(two_versions, alan):
    _, (_, _, failed) = two_versions
    with pytest.raises(AuthoringError, match="needs a reason"):
        override_grade(attempt=failed, instructor=alan, score=1.0, reason="  ")
    with pytest.raises(AuthoringError, match="between 0 and 1"):
        override_grade(attempt=failed, instructor=alan, score=1.5, reason="x")
    override_grade(attempt=failed, instructor=alan, score=0.9, reason="Check was wrong.")
    row = override_grade(attempt=failed, instructor=alan, score=0.5, reason="On second thought.")
    assert (row.from_score, row.from_passed, row.to_score, row.to_passed) == (0.9, True, 0.5, False)
    grade = effective(failed)
    assert grade.score == 0.5 and grade.passed is False and grade.override == row
    assert GradeOverride.objects.count() == 2
    failed.refresh_from_db()
    assert failed.score == 0.0  # the graded attempt itself is never rewritten


def test_analytics_numbers_and_csv(two_versions, alan):
    lab, (first, second, third) = two_versions
    data = analytics.compute(lab)
    summary = dict(data.summary)
    assert summary["submissions"] == 3 and summary["learners"] == 2 and summary["learners who passed"] == 1
    assert summary["pass rate (learners)"] == 0.5 and summary["median attempts to pass"] == 2
    assert data.attempts_to_pass == [(2, 1)]
    assert dict(data.time_to_pass)["1 h – 1 day"] == 1
    assert data.checks == [("answer", "Prints 42", 3, 1, 0.3333)]  # each submission's latest grading
    csv_text = analytics.as_csv(data, "failures")
    assert csv_text.splitlines()[0] == "check,count,example_message"
    assert analytics._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert analytics.percentile([1, 2, 3, 4, 100], 95) == 100 and analytics.percentile([1, 2, 3, 4], 50) == 2


def test_chart_labels_are_escaped():
    from authoring import charts

    svg = charts.bars(["<b>day</b>"], {"<script>": [1]}, title="t<i>") + charts.hbars(["<img src=x>"], [0.5], title="x")
    assert "<script>" not in svg and "<img" not in svg and "<b>" not in svg and "&lt;img src=x&gt;" in svg


def test_a_lab_with_no_submissions_has_every_page(web, owned_lab):
    version = owned_lab.current_version
    for url in ("/instructor/labs/tiny-answer/", "/instructor/labs/tiny-answer/analytics/",
                "/instructor/labs/tiny-answer/similarity/", "/instructor/labs/tiny-answer/regrade/",
                f"/instructor/labs/tiny-answer/diff/?to={version.content_hash}"):
        assert web.get(url).status_code == 200, url
    assert "0 submissions compared" in web.get("/instructor/labs/tiny-answer/similarity/").content.decode()
    page = web.post("/instructor/labs/tiny-answer/regrade/", {"target": version.content_hash, "selection": "all"})
    assert "No submissions match" in page.content.decode()
    exported = web.get(f"/instructor/labs/tiny-answer/version.zip?version={version.content_hash}")
    assert {p.as_posix() for p in bundles.read_bundle(exported.content).lab} == {
        p.relative_to(TINY_LAB).as_posix() for p in TINY_LAB.rglob("*") if p.is_file()}
    assert web.get("/instructor/labs/tiny-answer/diff/?to=sha256:nope").status_code == 404
    assert web.get("/instructor/labs/tiny-answer/analytics/nope.csv").status_code == 404
