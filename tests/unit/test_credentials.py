"""Issuing, signing and verifying Open Badges 3.0 credentials; every bad input gets its own reason."""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from test_credentials_support import (  # noqa: F401 - fixtures, requested by name
    doc_of,
    dumps,
    fixture_issued,
    fixture_key_dir,
    graded_attempt,
)
from test_site_support import fixture_ada, fixture_data_dir, fixture_grace, fixture_tiny_lab  # noqa: F401

from credentials import documents, jsonld, keys, proofs, services, verification
from credentials.models import Credential

pytestmark = pytest.mark.django_db


def verify(data: bytes | dict, **kwargs) -> verification.Verification:
    return verification.verify_bytes(dumps(data) if isinstance(data, dict) else data, **kwargs)


def failure_code(data: bytes | dict, **kwargs) -> str:
    result = verify(data, **kwargs)
    assert not result.verified, result.as_dict()
    assert result.failure is not None, result.as_dict()
    return result.failure.code


# --- issuing ------------------------------------------------------------------------------------------


def test_a_passed_attempt_gets_an_open_badges_3_credential(issued, tiny_lab):
    doc = doc_of(issued)
    assert doc["@context"] == [jsonld.VC_V2, jsonld.OB_V3]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"] == f"urn:uuid:{issued.id}"
    assert doc["issuer"] == {"id": "https://skillforge.test/issuer", "type": ["Profile"], "name": "SkillForge",
                             "url": "https://skillforge.test/"}
    assert doc["validFrom"].endswith("Z") and "validUntil" not in doc
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [{"type": "IdentityObject", "identityHash": "ada", "identityType": "name",
                                      "hashed": False}]
    ach = subject["achievement"]
    version = tiny_lab.current_version
    assert ach["id"] == f"https://skillforge.test/credentials/achievements/{version.content_hash[7:]}"
    assert ach["name"] == version.title and ach["version"] == version.version
    assert "Print the answer" in ach["criteria"]["narrative"] or version.brief.strip()[:20] in ach["criteria"]["narrative"]
    assert ach["criteria"]["id"] == "https://skillforge.test/labs/tiny-answer/"
    assert [a["targetName"] for a in ach["alignment"]] == ["test"]
    assert ach["otherIdentifier"][0]["identifier"] == version.content_hash
    assert subject["result"][0]["value"] == "1.0" and subject["result"][0]["resultDescription"] == ach["id"] + "#score"
    evidence = doc["evidence"][0]
    assert evidence["id"] == f"https://skillforge.test/credentials/{issued.id}/report.json"
    assert evidence["digestSRI"] == documents.sri(issued.report_bytes.encode())
    assert documents.sri(issued.report_bytes.encode()) == "sha256-" + __import__("base64").b64encode(
        bytes.fromhex(issued.attempt.digest.split(":")[1])).decode()
    status = doc["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusListIndex"] == str(issued.status_index)
    proof = doc["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == f"https://skillforge.test/issuer#{issued.key_id}"
    assert proof["proofValue"].startswith("z")


def test_issuing_is_idempotent_and_needs_a_pass(ada, tiny_lab, key_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        passed = graded_attempt(ada, tiny_lab)
        failed = graded_attempt(ada, tiny_lab, score=0.0)
    first = services.issue_for_attempt(attempt=passed)
    assert services.issue_for_attempt(attempt=passed).pk == first.pk
    with pytest.raises(services.IssueError):
        services.issue_for_attempt(attempt=failed)
    assert Credential.objects.count() == 1


def test_a_report_changed_after_grading_is_not_certified(ada, tiny_lab, key_dir, django_capture_on_commit_callbacks):
    from submissions.models import Attempt

    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(ada, tiny_lab)
    report = dict(attempt.report, summary="edited later")
    Attempt.objects.filter(pk=attempt.pk).update(report=report)
    attempt.refresh_from_db()
    with pytest.raises(services.IssueError, match="no longer matches"):
        services.issue_for_attempt(attempt=attempt)


def test_a_learner_who_prefers_privacy_is_named_by_a_salted_hash(ada, tiny_lab, key_dir,
                                                                    django_capture_on_commit_callbacks):
    from portfolios.models import Portfolio

    portfolio = Portfolio.objects.create(user=ada, private_identity=True)
    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(ada, tiny_lab)
    doc = doc_of(services.issue_for_attempt(attempt=attempt))
    identity = doc["credentialSubject"]["identifier"][0]
    assert identity["hashed"] is True and identity["identityType"] == "emailAddress"
    assert identity["salt"] == portfolio.identity_salt
    assert identity["identityHash"] == documents.identity_hash("ada@example.org", portfolio.identity_salt)
    assert "ada" not in json.dumps(doc["credentialSubject"]).replace("ada@", "")  # no name anywhere in the subject
    assert verify(doc).verified


def test_the_grading_hook_issues_and_never_loses_the_grade(ada, tiny_lab, key_dir, monkeypatch, caplog,
                                                            django_capture_on_commit_callbacks):
    from test_credentials_support import make_report

    from submissions import services as grading

    with django_capture_on_commit_callbacks(execute=False):
        submission = grading.submit(learner=ada, lab=tiny_lab, intake=grading.Intake(
            source="api_files", files={"main.py": "print(42)\n"}))
    monkeypatch.setattr(grading, "run_grading", lambda **kw: make_report(submission))
    attempt = grading.grade_attempt(attempt_id=submission.latest_attempt.pk)
    assert attempt.credential.score == 1.0

    with django_capture_on_commit_callbacks(execute=False):
        again = grading.submit(learner=ada, lab=tiny_lab, intake=grading.Intake(
            source="api_files", files={"main.py": "print(42)  # again\n"}))
    monkeypatch.setattr(grading, "run_grading", lambda **kw: make_report(again))
    monkeypatch.setattr("credentials.services.issue_for_attempt", lambda **kw: 1 / 0)
    attempt = grading.grade_attempt(attempt_id=again.latest_attempt.pk)
    assert attempt.status == "graded" and attempt.passed and attempt.digest.startswith("sha256:")
    assert "credential could not be issued" in caplog.text
    monkeypatch.undo()
    out = StringIO()
    call_command("issue_credentials", stdout=out)
    assert "1 credential(s) issued" in out.getvalue()


# --- round trip and tampering --------------------------------------------------------------------------


def test_round_trip_sign_then_verify_every_check(issued):
    result = verify(issued.document.encode())
    assert result.verified, result.as_dict()
    statuses = {c.key: c.status for c in result.checks}
    assert statuses == {"read": "pass", "contexts": "pass", "structure": "pass", "issuer_key": "pass",
                        "signature": "pass", "validity": "pass", "status": "pass", "evidence": "pass"}
    assert result.credential.pk == issued.pk


def test_a_pretty_printed_copy_still_verifies(issued):
    assert verify(json.dumps(doc_of(issued), indent=4).encode()).verified


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaf_paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaf_paths(child, (*path, i))
    else:
        yield path


def _set(doc, path, value):
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _flip(text: str) -> str:
    """One character changed (kept printable and JSON-safe)."""
    i = len(text) // 2 if text else 0
    if not text:
        return "x"
    ch = text[i]
    new = "B" if ch == "A" else "A" if not ch.isdigit() else str((int(ch) + 1) % 10)
    return text[:i] + new + text[i + 1:]


def test_changing_any_field_fails_with_a_reason(issued):
    doc = doc_of(issued)
    codes = {}
    for path in _leaf_paths(doc):
        tampered = copy.deepcopy(doc)
        target = tampered
        for step in path[:-1]:
            target = target[step]
        value = target[path[-1]]
        _set(tampered, path, (not value) if isinstance(value, bool) else _flip(str(value)))
        result = verify(tampered)
        assert not result.verified, f"changing {path} was not noticed"
        codes[path] = result.failure.code
    assert codes[("credentialSubject", "achievement", "name")] == "signature"
    assert codes[("proof", "proofValue")] in ("signature", "proof_value")
    assert codes[("@context", 1)] == "unknown_context"
    assert codes[("proof", "verificationMethod")] == "unknown_key"
    assert codes[("validFrom",)] in ("signature", "validity")


def test_renaming_or_adding_a_property_is_refused_not_ignored(issued):
    doc = doc_of(issued)
    renamed = copy.deepcopy(doc)
    renamed["credentialSubject"]["achievement"]["nbme"] = renamed["credentialSubject"]["achievement"].pop("name")
    assert failure_code(renamed) == "jsonld"
    assert "not defined by the document's contexts" in verify(renamed).failure.message
    added = copy.deepcopy(doc)
    added["credentialSubject"]["grade"] = "A+"
    assert failure_code(added) == "jsonld"


def test_one_byte_changes_anywhere_in_the_file_are_rejected(issued):
    data = issued.document.encode()
    rng = random.Random(20240601)
    positions = sorted(rng.sample(range(len(data)), 60))
    for pos in positions:
        tampered = bytearray(data)
        tampered[pos] = ord("0") if data[pos] != ord("0") else ord("1")
        result = verify(bytes(tampered))
        assert not result.verified, f"byte {pos} ({chr(data[pos])!r}) changed and still verified"
        assert result.failure.code, result.as_dict()


def test_a_wrong_key_fails_with_its_own_reason(issued):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    doc = doc_of(issued)
    other = Ed25519PrivateKey.generate()
    resigned = proofs.sign(doc, private_key=other, verification_method=doc["proof"]["verificationMethod"],
                           created=doc["proof"]["created"])
    assert failure_code(resigned) == "signature"
    did = "did:key:" + keys.public_multibase(other.public_key())
    stranger = proofs.sign(doc, private_key=other, verification_method=f"{did}#{did[8:]}", created=doc["proof"]["created"])
    result = verify(stranger)
    assert result.failure.code == "issuer_mismatch" and "not to the issuer" in result.failure.message
    unknown = proofs.sign(doc, private_key=other, verification_method="https://elsewhere.test/keys#1",
                          created=doc["proof"]["created"])
    assert failure_code(unknown) == "unknown_key"


def test_an_unknown_context_is_refused_and_never_fetched(issued, monkeypatch):
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("a context was fetched"))
    doc = doc_of(issued)
    doc["@context"].append("https://evil.test/context.jsonld")
    result = verify(doc)
    assert result.failure.code == "unknown_context" and "https://evil.test/context.jsonld" in result.failure.message


def test_revoked_fails_with_the_reason(issued):
    services.revoke(credential=issued, reason="Plagiarised from another learner's submission")
    result = verify(issued.document.encode())
    assert result.failure.code == "revoked"
    assert "Plagiarised from another learner's submission" in result.failure.message
    assert result.check("signature").passed  # still authentic, just revoked


def test_expired_and_not_yet_valid(ada, tiny_lab, key_dir, django_capture_on_commit_callbacks):
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(ada, tiny_lab)
    credential = services.issue_for_attempt(attempt=attempt, valid_for=timedelta(days=30))
    assert verify(credential.document.encode()).verified
    later = timezone.now() + timedelta(days=31)
    result = verify(credential.document.encode(), now=later)
    assert result.failure.code == "expired" and "Expired on" in result.failure.message
    earlier = timezone.now() - timedelta(days=1)
    assert failure_code(credential.document.encode(), now=earlier) == "not_yet_valid"


@pytest.mark.parametrize(("data", "code"), [
    (b"{\"@context\": [", "malformed_json"),
    (b"\xff\xfe not utf-8", "malformed_json"),
    (b"[1, 2, 3]", "not_object"),
    (b"{\"a\": 1, \"a\": 2}", "malformed_json"),
    (b"{\"a\": NaN}", "malformed_json"),
    (b"   ", "empty"),
    (b"[" * 100000, "malformed_json"),
    (b"eyJhbGciOiJFZERTQSJ9.eyJ4Ijp0cnVlfQ.AAAA", "unknown_key"),  # a JWT that names no key
    (b"eyJhbGciOiJIUzI1NiJ9.eyJ4Ijp0cnVlfQ.AAAA", "jwt_alg"),
])
def test_bad_input_gets_a_specific_failure(data, code, key_dir):
    assert failure_code(data) == code


def test_a_10_mb_upload_is_too_large(key_dir):
    result = verify(b"{" + b" " * (10 * 1024 * 1024) + b"}")
    assert result.failure.code == "too_large" and "10,485,762 bytes" in result.failure.message


def test_a_credential_without_proof_or_with_a_broken_one(issued):
    doc = doc_of(issued)
    unsigned = {k: v for k, v in doc.items() if k != "proof"}
    assert failure_code(unsigned) == "no_proof"
    for field, value, code in [("proofValue", "uABC", "proof_value"), ("proofValue", "z0OIl", "proof_value"),
                               ("cryptosuite", "ecdsa-rdfc-2019", "cryptosuite"), ("proofPurpose", "authentication",
                                                                                 "proof_purpose")]:
        broken = copy.deepcopy(doc)
        broken["proof"][field] = value
        assert failure_code(broken) == code, field


def test_the_evidence_digest_is_checked_against_the_stored_report(issued):
    Credential.objects.filter(pk=issued.pk).update(report_bytes=issued.report_bytes.replace("Scored", "scored"))
    result = verify(issued.document.encode())
    assert result.failure.code == "evidence_mismatch"


# --- VC-JWT and baked images ---------------------------------------------------------------------------


def test_the_vc_jwt_form_verifies_and_rejects_a_changed_byte(issued):
    assert issued.jwt.count(".") == 2
    result = verify(issued.jwt.encode())
    assert result.verified and result.form == "vc-jwt", result.as_dict()
    header, payload, signature = issued.jwt.split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    assert not verify(f"{header}.{flipped}.{signature}".encode()).verified


def test_baked_png_and_svg_carry_a_verifiable_credential(issued, client):
    png = client.get(f"/credentials/{issued.id}.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert verify(png.content).verified
    svg = client.get(f"/credentials/{issued.id}.svg")
    assert svg.status_code == 200 and b"<openbadges:credential>" in svg.content
    assert verify(svg.content).verified
    assert failure_code(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20) == "baked_image"


# --- keys -----------------------------------------------------------------------------------------------


def test_keys_are_files_outside_the_database_with_private_permissions(key_dir, settings):
    ring = keys.keyring()
    assert len(ring) == 1 and (key_dir / f"{ring[0].kid}.pem").exists()
    assert oct((key_dir / f"{ring[0].kid}.pem").stat().st_mode & 0o777) == "0o600"
    assert oct(key_dir.stat().st_mode & 0o777) == "0o700"
    assert keys.keyring() == ring  # generated once


def test_rotation_keeps_old_credentials_verifiable_and_revoking_a_key_does_not(issued, client):
    out = StringIO()
    call_command("rotate_issuer_key", stdout=out)
    assert "retired:" in out.getvalue()
    assert verify(issued.document.encode()).verified
    issuer = client.get("/issuer").json()
    kids = [m["publicKeyMultibase"] for m in issuer["verificationMethod"]]
    assert issued.key_id in kids and len(kids) == 2
    assert len(issuer["assertionMethod"]) == 2
    # The old key leaked: revoking it makes what it signed fail, with the reason.
    ring = keys.keyring()
    for entry in ring:
        if entry.kid == issued.key_id:
            entry.revoked, entry.revoked_reason = "2030-01-01T00:00:00Z", "the key leaked"
    keys._write_ring(keys.key_dir(), ring)
    result = verify(issued.document.encode())
    assert result.failure.code == "key_revoked" and "the key leaked" in result.failure.message


def test_the_issuer_document_is_valid_json_ld(key_dir, client):
    body = client.get("/issuer").json()
    assert body["id"] == "https://skillforge.test/issuer" and body["type"] == ["Profile"]
    nquads = jsonld.canonize(body)
    assert "https://w3id.org/security#publicKeyMultibase" in nquads


# --- commands and pages ---------------------------------------------------------------------------------


def test_verify_credential_command_accepts_and_rejects(issued, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(issued.document)
    out = StringIO()
    call_command("verify_credential", str(good), stdout=out)
    assert "VERIFIED" in out.getvalue() and "FAIL" not in out.getvalue()
    bad = tmp_path / "bad.json"
    bad.write_text(issued.document.replace('"Tiny answer', '"Tiny answeR', 1))
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_credential", str(bad), stdout=out)
    assert exc.value.code == 1 and "NOT VERIFIED" in out.getvalue() and "FAIL  Signature" in out.getvalue()
    out = StringIO()
    call_command("verify_credential", f"https://skillforge.test/credentials/{issued.id}.json", "--json", stdout=out)
    assert json.loads(out.getvalue())["verified"] is True


def test_the_verify_page_paste_upload_link_and_bad_input(issued, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.get("/verify/")
    assert page.status_code == 200 and b"Verify a credential" in page.content
    pasted = client.post("/verify/", {"credential": issued.document})
    assert pasted.status_code == 200 and b"Verified" in pasted.content and b"Evidence digest" in pasted.content
    uploaded = client.post("/verify/", {"file": SimpleUploadedFile("c.json", issued.document.encode())})
    assert b"Verified" in uploaded.content
    linked = client.get("/verify/", {"url": f"https://skillforge.test/credentials/{issued.id}/"})
    assert b"Verified" in linked.content
    elsewhere = client.get("/verify/", {"url": "http://169.254.169.254/latest/meta-data"})
    assert elsewhere.status_code == 400 and b"on this site only" in elsewhere.content
    big = client.post("/verify/", {"file": SimpleUploadedFile("big.json", b" " * (10 * 1024 * 1024))})
    assert big.status_code == 400 and b"10,485,760 bytes" in big.content
    huge_paste = client.post("/verify/", {"credential": "x" * (17 * 1024 * 1024)})
    assert huge_paste.status_code == 400 and b"The request is too large" in huge_paste.content
    tampered = client.post("/verify/", {"credential": issued.document.replace("tiny-answer", "tiny-answeR", 1)})
    assert tampered.status_code == 200 and b"Not verified" in tampered.content
    garbage = client.post("/verify/", {"credential": "<script>alert(1)</script>"})
    assert garbage.status_code == 200 and b"<script>alert(1)</script>" not in garbage.content
    as_json = client.get("/verify/", {"credential": str(issued.id), "format": "json"})
    assert as_json.json()["verified"] is True


def test_public_credential_pages_and_downloads(issued, client):
    page = client.get(f"/credentials/{issued.id}/")
    assert page.status_code == 200 and b"Tiny answer" in page.content and b'property="og:title"' in page.content
    assert "public" in page["Cache-Control"]
    assert client.get(f"/credentials/{issued.id}.json").content == issued.document.encode()
    report = client.get(f"/credentials/{issued.id}/report.json")
    assert documents.sri(report.content) == doc_of(issued)["evidence"][0]["digestSRI"]
    status = client.get("/credentials/status/revocation")
    assert status.status_code == 200 and verify(status.content).failure.code == "structure"  # not an OB credential
    assert proofs.verify(status.json(), resolve=lambda m: verification.resolve_key(m).key)
    ach = client.get(doc_of(issued)["credentialSubject"]["achievement"]["id"].replace("https://skillforge.test", ""))
    assert ach.status_code == 200 and ach.json()["type"] == ["Achievement"]
    assert client.get("/credentials/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_pdf_certificate_has_a_qr_code_to_the_verify_page(issued, client):
    from credentials.pdf import certificate_context

    response = client.get(f"/credentials/{issued.id}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    context = certificate_context(issued, doc_of(issued))
    assert context["verify_url"] == f"https://skillforge.test/verify/?credential={issued.id}"
    assert context["qr"].startswith("data:image/svg+xml;base64,")


def test_my_credentials_lists_only_mine(issued, client, grace):
    from test_site_support import PASSWORD

    client.login(username="grace", password=PASSWORD)
    assert str(issued.id).encode() not in client.get("/credentials/").content
    client.login(username="ada", password=PASSWORD)
    assert str(issued.id).encode() in client.get("/credentials/").content
