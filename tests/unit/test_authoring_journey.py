"""The whole instructor journey through the views, graded for real in the sandbox:

create a lab from the skeleton -> edit brief, settings and files (bad values refused with
file and line) -> validate (solution, starter, wrong solutions, limits, determinism) ->
publish v1 -> learners submit and are graded -> fix a check -> validate and publish v2 ->
re-grade on v2 (who went pass -> fail and fail -> pass, per check) -> analytics and CSV
from those real grades -> override a grade (audited, shown on the attempt).

The background work (validation, grading, re-grading) is the same service call the Celery
tasks make, run inline here; test_authoring_worker.py runs it through a real worker.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from test_credentials_support import fixture_key_dir  # noqa: F401 - fixture, requested by name
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_ada,
    fixture_alan,
    fixture_data_dir,
    fixture_grace,
    fixture_sandbox_name,
)

from authoring import regrade, services
from authoring.models import GradeOverride, LabDraft, RegradeJob, ValidationRun
from catalog.models import Lab
from credentials.models import Credential
from submissions import services as submissions
from submissions.models import Submission

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ADA_CODE = 'print("42" + " " * 60)\n'  # passes v1 (63 bytes <= 100); v2 allows 50 bytes: pass -> fail
GRACE_CODE = 'print("42!")\n'  # v1's answer check wants exactly 42: fail; v2 accepts "42!": fail -> pass


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def page(response) -> str:
    return response.content.decode()


def edit_file(client: Client, draft: LabDraft, path: str, change) -> object:
    url = f"/instructor/drafts/{draft.pk}/files/lab/{path}"
    text = (draft.lab_dir / path).read_text()
    return client.post(url, {"content": change(text)})


def validate_and_publish(client: Client, draft: LabDraft, callbacks_fixture) -> ValidationRun:
    with callbacks_fixture(execute=False) as queued:
        response = client.post(f"/instructor/drafts/{draft.pk}/validate/")
    run = ValidationRun.objects.filter(draft=draft).first()
    assert response.status_code == 302 and response["Location"] == f"/instructor/validations/{run.pk}/"
    assert len(queued) == 1  # on commit, to the worker's queue
    services.run_validation(run_id=run.pk)  # what the Celery task runs
    run.refresh_from_db()
    assert run.status == "passed", run.facts
    shown = page(client.get(f"/instructor/validations/{run.pk}/"))
    assert "Publish this version" in shown
    response = client.post(f"/instructor/drafts/{draft.pk}/publish/")
    assert response.status_code == 302 and response["Location"] == f"/instructor/labs/{draft.slug}/"
    return run


def submit_and_grade(learner_client: Client, slug: str, code: str, callbacks_fixture) -> Submission:
    with callbacks_fixture(execute=False):
        response = learner_client.post(f"/labs/{slug}/submit/", {"file_0": code})
    assert response.status_code == 302, page(response)[:2000]
    submission = Submission.objects.order_by("-created_at").first()
    submissions.grade_attempt(attempt_id=submission.latest_attempt.pk)  # what the worker runs
    return submission


def test_the_instructor_journey(alan, ada, grace, data_dir, key_dir, sandbox_name, django_capture_on_commit_callbacks):
    cb = django_capture_on_commit_callbacks
    web = login("alan")

    # --- role: learners get 403 everywhere; the nav shows the link to instructors only ------------
    assert login("ada").get("/instructor/").status_code == 403
    assert login("ada").get("/instructor/new/").status_code == 403
    assert "/instructor/" in page(web.get("/"))
    assert "/instructor/" not in page(login("ada").get("/"))

    # --- create a lab from the skeleton -------------------------------------------------------------
    response = web.post("/instructor/new/", {"slug": "tiny-quiz", "title": "Tiny quiz"})
    draft = LabDraft.objects.get(slug="tiny-quiz")
    assert response.status_code == 302 and response["Location"] == f"/instructor/drafts/{draft.pk}/"
    shown = page(web.get(f"/instructor/drafts/{draft.pk}/"))
    for name in ("starter/main.py", "solution/main.py", "checks/checks.toml", "checks/driver/driver.py",
                 "public_tests/test_main.py", "wrong_prints_nothing/main.py"):
        assert name in shown
    assert "Validate the draft first" in shown and re.search(r"<button[^>]*disabled[^>]*>Publish", shown)

    # --- brief: preview (sanitised), then save ---------------------------------------------------------
    brief = "# Tiny quiz\n\nPrint **42**.\n\n<script>alert(1)</script>\n"
    shown = page(web.post(f"/instructor/drafts/{draft.pk}/brief/", {"text": brief, "preview": "1"}))
    assert "<strong>42</strong>" in shown and "<script>alert(1)" not in shown
    assert (draft.lab_dir / "brief.md").read_text().startswith("# Tiny quiz")  # not saved by a preview
    web.post(f"/instructor/drafts/{draft.pk}/brief/", {"text": brief, "save": "1"})
    assert (draft.lab_dir / "brief.md").read_text() == brief

    # --- settings: values over the ceilings or weights that do not add up are refused, nothing written -
    settings_url = f"/instructor/drafts/{draft.pk}/settings/"
    form = _settings_form(web, settings_url)
    before = (draft.lab_dir / "lab.toml").read_bytes()
    shown = page(web.post(settings_url, {**form, "limit_memory_mb": "8192"}))
    assert "Ensure this value is less than or equal to 4096" in shown
    shown = page(web.post(settings_url, {**form, "weight_answer": "0.3", "weight_brevity": "0.3"}))
    assert "checks/checks.toml: the weights look like fractions of 1 but sum to 0.6" in shown
    assert (draft.lab_dir / "lab.toml").read_bytes() == before
    response = web.post(settings_url, {**form, "version": "1.0.0", "limit_wall_seconds": "20"})
    assert response.status_code == 302
    text = (draft.lab_dir / "lab.toml").read_text()
    assert 'version = "1.0.0"' in text and "wall_seconds = 20" in text
    assert "# The trusted driver runs in the sandbox" in text  # the author's comments survive the form

    # --- a file edit that breaks lab.toml is refused with the file and line ------------------------------
    response = edit_file(web, draft, "lab.toml", lambda t: t.replace("pass_bar = 0.8", 'pass_bar = "high"'))
    assert response.status_code == 200
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("pass_bar"))
    assert f"lab.toml, line {line}: pass_bar: must be an integer or a number, got str" in page(response)
    assert (draft.lab_dir / "lab.toml").read_text() == text

    # --- publishing before validating is refused ---------------------------------------------------------
    response = web.post(f"/instructor/drafts/{draft.pk}/publish/", follow=True)
    assert "Not published: Validate the draft first" in page(response)
    assert not Lab.objects.filter(slug="tiny-quiz").exists()

    # --- validate and publish v1 ------------------------------------------------------------------------
    run = validate_and_publish(web, draft, cb)
    texts = [f["text"] for f in run.facts]
    assert texts[0] == "solution scores 1.00 (needs 1.00)"
    assert re.match(r"solution ends ok in [\d.]+ s \(limit 20 s\)", texts[1])
    assert texts[2].startswith("starter scores 0.25") and "must be below 0.80" in texts[2]
    assert texts[3].startswith("wrong_prints_nothing scores 0.25")
    assert texts[4].startswith("two gradings of the solution give identical reports")
    lab = Lab.objects.get(slug="tiny-quiz")
    v1 = lab.current_version
    assert lab.owner == alan and v1.version == "1.0.0" and v1.content_hash == run.lab_hash
    assert "Tiny quiz" in page(Client().get("/"))  # learners see it in the catalog
    assert "<strong>42</strong>" in page(Client().get("/labs/tiny-quiz/"))

    # --- learners submit and are graded on v1 ---------------------------------------------------------
    ada_v1 = submit_and_grade(login("ada"), "tiny-quiz", ADA_CODE, cb)
    grace_v1 = submit_and_grade(login("grace"), "tiny-quiz", GRACE_CODE, cb)
    assert ada_v1.latest_attempt.passed is True and grace_v1.latest_attempt.passed is False
    credential = Credential.objects.get(attempt=ada_v1.latest_attempt)
    assert credential.lab_version == v1

    # --- fix a check: edit the driver and the thresholds, validate, publish v2 -----------------------------
    response = edit_file(web, draft, "checks/driver/driver.py",
                         lambda t: t.replace('printed.strip() == "42"', 'printed.strip().rstrip("!.") == "42"'))
    assert response.status_code == 302
    edit_file(web, draft, "checks/checks.toml", lambda t: t.replace("threshold = 100", "threshold = 50"))
    form = _settings_form(web, settings_url)
    assert web.post(settings_url, {**form, "version": "1.1.0"}).status_code == 302
    diff = page(web.get(f"/instructor/drafts/{draft.pk}/changes/"))
    assert "checks/checks.toml" in diff and "+threshold = 50" in diff and "-threshold = 100" in diff
    assert "Validate the draft first" not in page(web.get(f"/instructor/drafts/{draft.pk}/"))
    assert "changed since its last validation" in page(web.get(f"/instructor/drafts/{draft.pk}/"))
    validate_and_publish(web, draft, cb)
    lab.refresh_from_db()
    v2 = lab.current_version
    assert v2 != v1 and v2.version == "1.1.0"
    shown = page(web.get(f"/instructor/labs/tiny-quiz/diff/?from={v1.content_hash}&to={v2.content_hash}"))
    assert "checks/driver/driver.py" in shown and "lab.toml" in shown and "brief.md" not in shown

    # --- re-grade everyone on v2 --------------------------------------------------------------------------
    regrade_url = "/instructor/labs/tiny-quiz/regrade/"
    shown = page(web.post(regrade_url, {"target": v2.content_hash, "selection": "all", "latest_only": "on",
                                        "preview": "1"}))
    assert "2 submissions would be re-graded" in shown
    with cb(execute=False) as queued:
        response = web.post(regrade_url, {"target": v2.content_hash, "selection": "all", "latest_only": "on"})
    job = RegradeJob.objects.get()
    assert response["Location"] == f"/instructor/regrades/{job.pk}/" and len(queued) == 1
    shown = page(web.get(f"/instructor/regrades/{job.pk}/"))
    assert '<progress value="0" max="2"' in shown and "hx-trigger" in shown
    regrade.run_regrade(job_id=job.pk)  # what the Celery task runs
    shown = page(web.get(f"/instructor/regrades/{job.pk}/"))
    assert '<progress value="2" max="2"' in shown and "hx-trigger" not in shown
    assert "<strong>1</strong> pass → fail" in shown and "<strong>1</strong> fail → pass" in shown
    section = shown.split("<h2>Pass → fail</h2>")[1].split("<h2>")[0]
    assert "ada" in section and "<code>brevity</code> pass → fail" in section
    section = shown.split("<h2>Fail → pass</h2>")[1].split("<h2>")[0]
    assert "grace" in section and "<code>answer</code> fail → pass" in section
    # Nothing the learners hold changed: their submissions, grades and credential stay on v1.
    ada_v1.refresh_from_db()
    credential.refresh_from_db()
    assert ada_v1.lab_version == v1 and ada_v1.latest_attempt.passed is True
    assert credential.lab_version == v1 and credential.revoked_at is None
    assert Submission.objects.count() == 2

    # --- analytics from those grades, as a page with charts and as CSV ------------------------------------
    shown = page(web.get("/instructor/labs/tiny-quiz/analytics/"))
    assert shown.count("<svg") == 5 and "Pass rate per check" in shown
    assert "grading wall time p95 (s)" in shown
    summary = dict(_csv(web, "summary"))
    assert summary["submissions"] == "2" and summary["learners"] == "2" and summary["learners who passed"] == "1"
    assert summary["pass rate (learners)"] == "0.5" and float(summary["grading wall time p50 (s)"]) > 0
    checks = {row[0]: row for row in _csv(web, "checks")}
    assert checks["answer"][2:] == ["2", "1", "0.5"] and checks["brevity"][2:] == ["2", "2", "1.0"]
    failures = _csv(web, "failures")
    assert failures[0][0] == "Prints the answer" and failures[0][1] == "1"
    assert dict(_csv(web, "terminations")) == {"ok": "2"}
    assert dict(_csv(web, "attempts_to_pass")) == {"1": "1"}

    # --- override grace's grade: audited, shown on the attempt to her and to the instructor ----------------
    attempt = grace_v1.latest_attempt
    override_url = reverse("authoring:override", args=[attempt.pk])  # a signed id, not a countable one
    detail = page(web.get(f"/submissions/{grace_v1.pk}/"))
    assert override_url in detail
    assert override_url not in page(login("grace").get(f"/submissions/{grace_v1.pk}/"))
    assert login("grace").get(override_url).status_code == 403
    shown = page(web.post(override_url, {"score": "0.9", "reason": ""}))
    assert "This field is required" in shown and not GradeOverride.objects.exists()
    response = web.post(override_url,
                        {"score": "0.9", "reason": "The answer check was too strict in v1."})
    assert response.status_code == 302
    row = GradeOverride.objects.get()
    assert (row.instructor, row.from_score, row.from_passed, row.to_score, row.to_passed) == (alan, 0.25, False, 0.9, True)
    shown = page(login("grace").get(f"/submissions/{grace_v1.pk}/"))
    assert "Grade overridden by alan" in shown and "0.90 passed" in shown and "the grader gave 0.25" in shown
    assert "The answer check was too strict in v1." in shown
    assert "0.25" in page(web.get(override_url))  # the audit log: from
    summary = dict(_csv(web, "summary"))
    assert summary["learners who passed"] == "2"  # analytics count the override


def _settings_form(client: Client, url: str) -> dict[str, str]:
    """The settings form as the browser would post it back unchanged."""
    shown = page(client.get(url))
    data: dict[str, str] = {}
    for m in re.finditer(r'<input type="(?:text|number)" name="([^"]+)" value="([^"]*)"', shown):
        data[m.group(1)] = m.group(2)
    for m in re.finditer(r'<textarea name="([^"]+)"[^>]*>\n?(.*?)</textarea>', shown, re.S):
        data[m.group(1)] = m.group(2)
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', shown, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', m.group(2))
        data[m.group(1)] = chosen.group(1) if chosen else ""
    for m in re.finditer(r'<input type="checkbox" name="([^"]+)" value="([^"]*)"[^>]*checked', shown):
        data[m.group(1)] = m.group(2)
    return {k: v.replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&") for k, v in data.items()}


def _csv(client: Client, table: str) -> list[list[str]]:
    response = client.get(f"/instructor/labs/tiny-quiz/analytics/{table}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))[1:]


def test_validation_goes_red_for_a_crashing_check_and_a_starter_that_passes(alan, data_dir, sandbox_name,
                                                                             django_capture_on_commit_callbacks):
    web = login("alan")
    draft = services.create_draft(owner=alan, slug="broken", title="Broken")
    driver = draft.lab_dir / "checks" / "driver" / "driver.py"
    lines = driver.read_text().splitlines()
    crash_line = lines.index("h.prepare_workspace()") + 1
    lines.insert(crash_line - 1, "settings = {}['missing']  # a bug in the check")
    driver.write_text("\n".join(lines) + "\n")
    with django_capture_on_commit_callbacks(execute=False):
        run = services.start_validation(draft=draft, user=alan)
    services.run_validation(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and not run.facts[0]["ok"]
    assert run.facts[0]["text"].startswith("solution could not be graded: The lab's grader produced no observations")
    assert run.facts[0]["where"] == f"checks/driver/driver.py, line {crash_line}"
    shown = page(web.get(f"/instructor/validations/{run.pk}/"))
    assert f"checks/driver/driver.py, line {crash_line}" in shown and "KeyError" in shown
    assert "Publish this version" not in shown
    assert "Not published" in page(web.post(f"/instructor/drafts/{draft.pk}/publish/", follow=True))

    lines.pop(crash_line - 1)  # fix the check; now the starter is the solution, which must not pass
    driver.write_text("\n".join(lines) + "\n")
    (draft.lab_dir / "starter" / "main.py").write_text("print(42)\n")
    with django_capture_on_commit_callbacks(execute=False):
        run = services.start_validation(draft=draft, user=alan)
    services.run_validation(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert [f["ok"] for f in run.facts] == [True, True, False, True, True]
    assert run.facts[2]["text"] == "starter scores 1.00 (must be below 0.80)"
