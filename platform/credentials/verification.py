"""Verifying a credential: every check with its own result and reason, never an exception.

    verify_bytes(data)  -> Verification(checks=[Check(key, name, status, message, code)…])

Input may be the JSON credential, its VC-JWT, or a baked PNG/SVG badge. The checks:
read (size, JSON), contexts (only those we ship), structure (an OpenBadgeCredential),
issuer key (resolved from our keyring or a did:key; retired keys still count, revoked
keys do not), signature (eddsa-rdfc-2022, or the JWT's EdDSA signature), validity window,
status (our Bitstring Status List, itself signature-checked) and evidence (the stored
report's bytes against the pinned digest). Re-grading is regrade.py.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.urls import Resolver404, resolve

from . import baking, documents, jsonld, keys, proofs
from .models import Credential

PASS, FAIL, SKIP = "pass", "fail", "skip"
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}


@dataclass
class Check:
    key: str
    name: str
    status: str
    message: str
    code: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    document: dict[str, Any] | None = None
    form: str = ""  # "data-integrity" | "vc-jwt"
    credential: Credential | None = None  # ours, found by the document's id

    def add(self, key: str, name: str, status: str, message: str, code: str = "") -> Check:
        check = Check(key, name, status, message, code or (key if status == FAIL else ""))
        self.checks.append(check)
        return check

    @property
    def verified(self) -> bool:
        return bool(self.checks) and not any(c.status == FAIL for c in self.checks) and any(
            c.key == "signature" and c.passed for c in self.checks)

    @property
    def failure(self) -> Check | None:
        return next((c for c in self.checks if c.status == FAIL), None)

    def check(self, key: str) -> Check | None:
        return next((c for c in self.checks if c.key == key), None)

    def as_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "form": self.form,
                "checks": [{"key": c.key, "name": c.name, "status": c.status, "message": c.message, "code": c.code}
                           for c in self.checks]}


class VerifyError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


# --- reading the input ----------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise VerifyError("malformed_json", f"The JSON has the key {key!r} twice in one object.")
        seen[key] = value
    return seen


def _no_constants(name: str) -> Any:
    raise VerifyError("malformed_json", f"The JSON contains {name}, which is not valid JSON.")


def parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise VerifyError("malformed_json", f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    except RecursionError:
        raise VerifyError("malformed_json", "The JSON is nested too deeply.") from None


def read_input(data: bytes) -> tuple[str, Any]:
    """("data-integrity", dict) or ("vc-jwt", token); VerifyError with a specific reason otherwise."""
    limit = settings.SKILLFORGE_VERIFY_MAX_BYTES
    if len(data) > limit:
        raise VerifyError("too_large", f"The input is {len(data):,} bytes; a credential is at most {limit:,} bytes.")
    if not data.strip():
        raise VerifyError("empty", "Nothing to verify: paste, upload or link a credential.")
    if data.startswith(baking.PNG_SIGNATURE) or data.lstrip()[:5] in (b"<?xml", b"<svg ") or data.lstrip()[:4] == b"<svg":
        try:
            data = baking.extract(data)
        except baking.BakingError as exc:
            raise VerifyError("baked_image", str(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerifyError("malformed_json", f"The input is not UTF-8 text (byte {exc.start}).") from None
    stripped = text.strip()
    if stripped.startswith("\ufeff"):
        stripped = stripped[1:]
    if JWT_RE.match(stripped):
        return "vc-jwt", stripped
    document = parse_json(stripped)
    if not isinstance(document, dict):
        raise VerifyError("not_object", "A credential is a JSON object; this is a JSON " + type(document).__name__ + ".")
    return "data-integrity", document


# --- our own resources, resolved locally ----------------------------------------------------------


def local_path(url: str) -> str | None:
    """The path of a URL on this site (under SKILLFORGE_PUBLIC_URL), or None."""
    base = settings.SKILLFORGE_PUBLIC_URL.rstrip("/")
    if not isinstance(url, str) or not url.startswith(base + "/"):
        return None
    return urlsplit(url[len(base):]).path


def our_credential_by_id(doc_id: Any) -> Credential | None:
    if not isinstance(doc_id, str) or not doc_id.startswith("urn:uuid:"):
        return None
    try:
        pk = uuid.UUID(doc_id[len("urn:uuid:"):])
    except ValueError:
        return None
    return Credential.objects.select_related("lab_version__lab", "attempt").filter(pk=pk).first()


def _resolved(url: str) -> tuple[str, dict[str, Any]] | None:
    path = local_path(url)
    if path is None:
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.url_name or "", match.kwargs


# --- the checks -----------------------------------------------------------------------------------


@dataclass
class ResolvedKey:
    key: Ed25519PublicKey
    controller: str
    message: str


def resolve_key(method: str) -> ResolvedKey:
    """The public key behind a verificationMethod: our keyring or a did:key. VerifyError if neither."""
    issuer = documents.issuer_id()
    if method.startswith(issuer + "#"):
        entry = keys.find(method[len(issuer) + 1:])
        if entry is None:
            raise VerifyError("unknown_key", f"{method} is not one of our issuer's keys (see {issuer}).")
        if entry.revoked:
            raise VerifyError("key_revoked", f"The key that signed this was revoked on {entry.revoked}: "
                                             f"{entry.revoked_reason or 'no reason given'}.")
        state = "the current issuer key" if entry.status == "active" else f"a retired issuer key (retired {entry.retired})"
        return ResolvedKey(entry.key, issuer, f"Signed with {state}, published at {issuer}.")
    did_key = keys.did_key_public(method)
    if did_key is not None:
        return ResolvedKey(did_key, method.split("#", 1)[0], "Signed with a did:key, which names its own public key.")
    raise VerifyError("unknown_key", f"The key {method} is not available here: it is neither this platform's issuer "
                                     "key nor a did:key.")


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return issuer["id"]
    return None


def _types(value: Any) -> list[str]:
    return [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)]


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
        raise ValueError(f"{value!r} is not an XML Schema dateTime with a time zone")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_structure(document: dict[str, Any]) -> None:
    contexts = document.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first != jsonld.VC_V2:
        raise VerifyError("structure", f"The first @context must be {jsonld.VC_V2} (a VC 2.0 credential).")
    types = _types(document.get("type"))
    if "VerifiableCredential" not in types or not CREDENTIAL_TYPES & set(types):
        raise VerifyError("structure", "The type must include VerifiableCredential and OpenBadgeCredential.")
    if _issuer_id(document) is None:
        raise VerifyError("structure", "The credential names no issuer id.")
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise VerifyError("structure", "credentialSubject must be one JSON object.")
    if not isinstance(subject.get("achievement"), dict):
        raise VerifyError("structure", "credentialSubject has no achievement.")
    if "validFrom" not in document:
        raise VerifyError("structure", "The credential has no validFrom.")


def check_validity(document: dict[str, Any], now: datetime) -> str:
    try:
        valid_from = parse_datetime(document.get("validFrom"))
        valid_until = parse_datetime(document["validUntil"]) if "validUntil" in document else None
    except ValueError as exc:
        raise VerifyError("validity", f"Unreadable validity dates: {exc}.") from None
    if valid_from > now:
        raise VerifyError("not_yet_valid", f"Not valid yet: valid from {document['validFrom']}.")
    if valid_until is not None and valid_until <= now:
        raise VerifyError("expired", f"Expired on {document['validUntil']}.")
    return f"Valid from {document['validFrom']}" + (f" until {document['validUntil']}." if valid_until else ", no end date.")


def _our_status_list() -> dict[str, Any]:
    from .services import status_list_document

    return json.loads(status_list_document())


def check_status(document: dict[str, Any], fetch: Callable[[str], bytes] | None) -> tuple[str, str, str]:
    """(status, message, code) of the revocation status."""
    entries = document.get("credentialStatus")
    if entries is None:
        return SKIP, "The credential has no credentialStatus, so it cannot be revoked.", ""
    entries = entries if isinstance(entries, list) else [entries]
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            return SKIP, "A credentialStatus of a type we do not check (only BitstringStatusListEntry).", ""
        if entry.get("statusPurpose") != "revocation":
            continue
        list_url = entry.get("statusListCredential")
        try:
            index = int(entry.get("statusListIndex", ""))
        except (TypeError, ValueError):
            return FAIL, "statusListIndex is not a number.", "status"
        ours = _resolved(list_url) if isinstance(list_url, str) else None
        if ours is not None and ours[0] == "status_list":
            status_doc = _our_status_list()
        elif fetch is not None and isinstance(list_url, str):
            try:
                kind, status_doc = read_input(fetch(list_url))
            except (VerifyError, OSError, ValueError) as exc:
                return FAIL, f"The status list {list_url} could not be read: {exc}", "status_unavailable"
            if kind != "data-integrity":
                return FAIL, f"The status list {list_url} is not a JSON credential.", "status_unavailable"
        else:
            return SKIP, f"The status list {list_url} is not this platform's; fetch it to check (verify_credential --fetch).", ""
        try:
            proofs.verify(status_doc, resolve=lambda m: resolve_key(m).key)
            if _issuer_id(status_doc) != _issuer_id(document):
                raise VerifyError("status", "The status list was issued by someone else than the credential's issuer.")
            bits = documents.decode_status_list(status_doc.get("credentialSubject", {}).get("encodedList"))
            revoked = documents.status_bit(bits, index)
        except (proofs.ProofError, VerifyError, jsonld.UnknownContext, jsonld.JsonLdProblem, ValueError,
                AttributeError) as exc:
            return FAIL, f"The status list {list_url} cannot be trusted: {exc}", "status_unavailable"
        if revoked:
            reason = ""
            ours_cred = our_credential_by_id(document.get("id"))
            if ours_cred is not None and ours_cred.status_index == index and ours_cred.revoked:
                reason = f" on {documents.iso(ours_cred.revoked_at)}: {ours_cred.revocation_reason}"  # type: ignore[arg-type]
            return FAIL, f"Revoked by the issuer{reason or ' (no reason published)'}.", "revoked"
        return PASS, f"Not revoked (entry {index} of the signed status list {list_url}).", ""
    return SKIP, "No revocation status entry.", ""


def check_evidence(document: dict[str, Any], fetch: Callable[[str], bytes] | None) -> tuple[str, str, str]:
    evidence = document.get("evidence")
    items = [e for e in (evidence if isinstance(evidence, list) else [evidence]) if isinstance(e, dict)]
    pinned = [e for e in items if isinstance(e.get("digestSRI"), str)]
    if not pinned:
        return SKIP, "The credential pins no evidence by digest.", ""
    messages = []
    for item in pinned:
        url = item.get("id")
        data: bytes | None = None
        ours = _resolved(url) if isinstance(url, str) else None
        if ours is not None and ours[0] == "credential_report":
            cred = Credential.objects.filter(pk=ours[1]["credential_id"]).select_related("attempt").first()
            if cred is None or cred.attempt is None:  # None: its holder deleted their account
                return FAIL, f"The evidence {url} is not stored here.", "evidence_unavailable"
            data = cred.report_bytes.encode("utf-8")
            if cred.attempt.digest != cred.report_digest:
                return FAIL, "The stored report no longer matches the graded attempt's digest.", "evidence_mismatch"
        elif fetch is not None and isinstance(url, str):
            try:
                data = fetch(url)
            except (OSError, ValueError) as exc:
                return FAIL, f"The evidence {url} could not be fetched: {exc}", "evidence_unavailable"
        else:
            messages.append(f"{url} is not on this platform; not fetched")
            continue
        if documents.sri(data) != item["digestSRI"]:
            return FAIL, (f"The evidence {url} does not match the pinned digest {item['digestSRI']} "
                          f"(its bytes hash to {documents.sri(data)})."), "evidence_mismatch"
        messages.append(f"{url} matches {item['digestSRI']}")
    if len(messages) == len(pinned) and all("not fetched" in m for m in messages):
        return SKIP, "; ".join(messages) + ".", ""
    return PASS, "The graded report's bytes match the digest the credential pins: " + "; ".join(messages) + ".", ""


# --- the whole verification ------------------------------------------------------------------------


def verify_bytes(data: bytes, *, fetch: Callable[[str], bytes] | None = None,
                 now: datetime | None = None, loader: jsonld.OfflineLoader = jsonld.DEFAULT_LOADER) -> Verification:
    result = Verification()
    try:
        form, value = read_input(data)
    except VerifyError as exc:
        result.add("read", "Read the credential", FAIL, str(exc), exc.code)
        return result
    result.form = form
    if form == "vc-jwt":
        document = _verify_jwt(result, value)
        if document is None:
            return result
    else:
        document = value
        result.add("read", "Read the credential", PASS, "Valid JSON, Data Integrity form.")
    result.document = document
    return _verify_document(result, document, fetch=fetch, now=now or datetime.now(UTC), loader=loader)


def _verify_jwt(result: Verification, token: str) -> dict[str, Any] | None:
    try:
        header = jwt.get_unverified_header(token)
        payload = json.loads(jwt.api_jws.decode_complete(token, options={"verify_signature": False})["payload"])
    except (jwt.InvalidTokenError, ValueError) as exc:
        result.add("read", "Read the credential", FAIL, f"Not a readable VC-JWT: {exc}.", "malformed_jwt")
        return None
    if not isinstance(payload, dict):
        result.add("read", "Read the credential", FAIL, "The VC-JWT's payload is not a JSON object.", "malformed_jwt")
        return None
    result.add("read", "Read the credential", PASS, "A VC-JWT (VC-JOSE-COSE) with an EdDSA signature.")
    result.document = payload
    if header.get("alg") != "EdDSA":
        result.add("signature", "Signature", FAIL, f"The JWT algorithm is {header.get('alg')!r}; only EdDSA is accepted.",
                   "jwt_alg")
        return None
    try:
        resolved = resolve_key(str(header.get("kid", "")))
    except VerifyError as exc:
        result.add("issuer_key", "Issuer key", FAIL, str(exc), exc.code)
        return None
    try:
        jwt.api_jws.decode_complete(token, key=resolved.key, algorithms=["EdDSA"])
    except jwt.InvalidTokenError:
        result.add("signature", "Signature", FAIL, "The JWT signature does not match: the token was changed after "
                                                   "it was signed, or it was signed with another key.", "signature")
        return None
    if _issuer_id(payload) != resolved.controller:
        result.add("issuer_key", "Issuer key", FAIL, f"The key belongs to {resolved.controller}, not to the issuer "
                                                     f"{_issuer_id(payload)}.", "issuer_mismatch")
        return None
    result.add("issuer_key", "Issuer key", PASS, resolved.message)
    result.add("signature", "Signature", PASS, "The VC-JWT's EdDSA signature matches these exact bytes.")
    return payload


def _verify_document(result: Verification, document: dict[str, Any], *, fetch: Callable[[str], bytes] | None,
                     now: datetime, loader: jsonld.OfflineLoader) -> Verification:
    try:
        jsonld.check_contexts(document, loader)
        result.add("contexts", "JSON-LD contexts", PASS, "Every context is one we ship: " +
                   ", ".join(dict.fromkeys(jsonld.context_urls(document))) + ".")
    except jsonld.UnknownContext as exc:
        result.add("contexts", "JSON-LD contexts", FAIL, f"Unknown context {exc.url}: we only accept contexts we "
                                                         "ship, and never fetch one.", "unknown_context")
        return result
    try:
        check_structure(document)
        result.add("structure", "Open Badges 3.0 credential", PASS, "A VerifiableCredential of type OpenBadgeCredential.")
    except VerifyError as exc:
        result.add("structure", "Open Badges 3.0 credential", FAIL, str(exc), exc.code)
        return result
    result.credential = our_credential_by_id(document.get("id"))

    if result.form == "vc-jwt":
        try:
            jsonld.canonize({k: v for k, v in document.items() if k != "proof"}, loader)
            result.add("jsonld", "JSON-LD", PASS, "Every property is defined by the credential's contexts.")
        except (jsonld.JsonLdProblem, jsonld.UnknownContext) as exc:
            result.add("jsonld", "JSON-LD", FAIL, f"The JSON-LD is not valid: {exc}", "jsonld")
            return result
    else:
        try:
            proof = proofs.the_proof(document)
            proofs.decode_proof_value(proof.get("proofValue"))
        except proofs.ProofError as exc:
            result.add("signature", "Signature", FAIL, str(exc), exc.code)
            return result
        try:
            resolved = resolve_key(proof["verificationMethod"])
        except VerifyError as exc:
            result.add("issuer_key", "Issuer key", FAIL, str(exc), exc.code)
            return result
        if _issuer_id(document) != resolved.controller:
            result.add("issuer_key", "Issuer key", FAIL, f"The signing key belongs to {resolved.controller}, not to the "
                                                         f"issuer {_issuer_id(document)}.", "issuer_mismatch")
            return result
        result.add("issuer_key", "Issuer key", PASS, resolved.message)
        try:
            proofs.verify(document, resolve=lambda _m: resolved.key, loader=loader)
            result.add("signature", "Signature", PASS, "The eddsa-rdfc-2022 DataIntegrityProof matches the RDFC-1.0 "
                                                       "canonical form of the whole credential.")
        except proofs.ProofError as exc:
            result.add("signature", "Signature", FAIL, str(exc), exc.code)
            return result
        except (jsonld.JsonLdProblem, jsonld.UnknownContext) as exc:
            result.add("signature", "Signature", FAIL, f"The credential cannot be canonicalized, so no signature can "
                                                       f"cover it: {exc}", "jsonld")
            return result

    try:
        result.add("validity", "Validity window", PASS, check_validity(document, now))
    except VerifyError as exc:
        result.add("validity", "Validity window", FAIL, str(exc), exc.code)
    status, message, code = check_status(document, fetch)
    result.add("status", "Revocation status", status, message, code)
    status, message, code = check_evidence(document, fetch)
    result.add("evidence", "Evidence digest", status, message, code)
    return result
