"""The JSON documents we publish: the issuer profile and keys, an achievement, a credential, the status list.

Pure builders: they take plain values and return dicts; services.py signs and stores them.
Every URL is absolute, under SKILLFORGE_PUBLIC_URL, so a credential names resolvable ids.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from .jsonld import DID_V1, MULTIKEY_V1, OB_V3, VC_V2
from .keys import PublicKey
from .models import STATUS_LIST_SIZE

CONTEXTS = [VC_V2, OB_V3]
MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024  # a decompressed list larger than this is refused (a gzip bomb)


def public_url(path: str = "/") -> str:
    return settings.SKILLFORGE_PUBLIC_URL.rstrip("/") + path


def issuer_id() -> str:
    return public_url(reverse("issuer"))


def verification_method(kid: str) -> str:
    return f"{issuer_id()}#{kid}"


def status_list_url() -> str:
    return public_url(reverse("status_list"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(document: dict[str, Any]) -> str:
    """The one serialisation we store and serve: compact, so every byte is significant."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sri(data: bytes) -> str:
    """A Subresource Integrity digest (sha256-<base64>), as VC 2.0's digestSRI."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def issuer_profile(*, include_keys: list[PublicKey] | None = None) -> dict[str, Any]:
    """The issuer as an Open Badges Profile; with keys, also its controller document (Multikey)."""
    profile: dict[str, Any] = {
        "id": issuer_id(),
        "type": ["Profile"],
        "name": settings.SKILLFORGE_ISSUER_NAME,
        "url": public_url("/"),
    }
    if include_keys is None:
        return profile
    methods = []
    for key in include_keys:
        method: dict[str, Any] = {
            "id": verification_method(key.kid),
            "type": "Multikey",
            "controller": issuer_id(),
            "publicKeyMultibase": key.kid,
        }
        if key.revoked:
            method["revoked"] = key.revoked
        methods.append(method)
    usable = [m["id"] for m, k in zip(methods, include_keys, strict=True) if not k.revoked]
    return {
        "@context": [DID_V1, MULTIKEY_V1, VC_V2, OB_V3],
        **profile,
        "description": "Issues Open Badges 3.0 credentials for graded labs. verificationMethod lists every key "
                       "it has signed with; retired keys stay listed so their credentials still verify.",
        "verificationMethod": methods,
        "assertionMethod": usable,
    }


@dataclass(frozen=True)
class AchievementFacts:
    content_hash: str
    slug: str
    title: str
    summary: str
    version: str
    pass_bar: float
    brief: str
    tags: tuple[str, ...]


def achievement_id(content_hash: str) -> str:
    return public_url(reverse("achievement", args=[content_hash.split(":", 1)[-1]]))


def achievement(facts: AchievementFacts) -> dict[str, Any]:
    """One Achievement per lab version (its content hash), with the brief as its criteria."""
    ach_id = achievement_id(facts.content_hash)
    criteria = (
        f"Submit a solution to the lab \"{facts.title}\" (version {facts.version}) that SkillForge's grader scores "
        f"at least {facts.pass_bar:g} out of 1 in a fresh sandbox. The lab's brief follows.\n\n{facts.brief}".strip()
    )
    return {
        "id": ach_id,
        "type": ["Achievement"],
        "achievementType": "Badge",
        "name": facts.title,
        "description": facts.summary or facts.title,
        "criteria": {"id": public_url(reverse("lab_detail", args=[facts.slug])), "narrative": criteria},
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": tag,
                "targetCode": tag,
                "targetFramework": f"{settings.SKILLFORGE_ISSUER_NAME} skills",
                "targetType": "ceasn:Competency",
                "targetUrl": public_url(reverse("skill", args=[tag])),
            }
            for tag in facts.tags
        ],
        "resultDescription": [
            {
                "id": f"{ach_id}#score",
                "type": ["ResultDescription"],
                "name": "Score",
                "resultType": "RawScore",
                "valueMin": "0",
                "valueMax": "1",
                "requiredValue": f"{facts.pass_bar:g}",
            }
        ],
        "otherIdentifier": [{"type": ["IdentifierEntry"], "identifier": facts.content_hash, "identifierType": "identifier"}],
        "tag": list(facts.tags),
        "version": facts.version,
        "creator": issuer_profile(),
    }


def identity_hash(value: str, salt: str) -> str:
    """Open Badges' salted identity hash: sha256$hex(sha256(value + salt))."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubjectFacts:
    name: str
    email: str
    username: str
    private: bool
    salt: str


def subject_identifier(facts: SubjectFacts) -> list[dict[str, Any]]:
    if facts.private:
        value, kind = (facts.email.strip().lower(), "emailAddress") if facts.email else (facts.username, "userName")
        return [{"type": "IdentityObject", "identityHash": identity_hash(value, facts.salt), "identityType": kind,
                 "hashed": True, "salt": facts.salt}]
    return [{"type": "IdentityObject", "identityHash": facts.name, "identityType": "name", "hashed": False}]


@dataclass(frozen=True)
class CredentialFacts:
    uuid: str
    issued_at: datetime
    valid_until: datetime | None
    score: float
    report_bytes: bytes
    report_digest: str
    submission_hash: str
    grader_version: str
    status_index: int


def credential(facts: CredentialFacts, ach: AchievementFacts, subject: SubjectFacts) -> dict[str, Any]:
    ach_doc = achievement(ach)
    report_url = public_url(reverse("credential_report", args=[facts.uuid]))
    status_url = status_list_url()
    doc: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": f"urn:uuid:{facts.uuid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{ach.title}: passed",
        "description": f"Passed the SkillForge lab \"{ach.title}\" (version {ach.version}) with a score of "
                       f"{facts.score:.2f} (the bar is {ach.pass_bar:g}).",
        "issuer": issuer_profile(),
        "validFrom": iso(facts.issued_at),
    }
    if facts.valid_until is not None:
        doc["validUntil"] = iso(facts.valid_until)
    doc["credentialSubject"] = {
        "type": ["AchievementSubject"],
        "identifier": subject_identifier(subject),
        "achievement": ach_doc,
        "result": [
            {"type": ["Result"], "resultDescription": f"{ach_doc['id']}#score", "value": repr(facts.score),
             "status": "Completed"}
        ],
    }
    doc["evidence"] = [
        {
            "id": report_url,
            "type": ["Evidence"],
            "name": "Graded report",
            "description": "The grader's report for the submission that earned this credential. Its exact bytes are "
                           "pinned by digestSRI; re-grading the same submission against the same lab version "
                           "reproduces them.",
            "narrative": f"Report {facts.report_digest}, grader {facts.grader_version}, lab version "
                         f"{ach.content_hash}, submission {facts.submission_hash}.",
            "genre": "Graded report",
            "mediaType": "application/json",
            "digestSRI": sri(facts.report_bytes),
        }
    ]
    doc["credentialStatus"] = {
        "id": f"{status_url}#{facts.status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(facts.status_index),
        "statusListCredential": status_url,
    }
    return doc


# --- Bitstring Status List -------------------------------------------------------------------------


def encode_status_list(indexes: Iterable[int], size: int = STATUS_LIST_SIZE) -> str:
    """GZIP-compressed bitstring, base64url without padding, multibase 'u' (index 0 = the first byte's high bit)."""
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: Any) -> bytes:
    """The bitstring of an encodedList; ValueError says why it cannot be read."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url (it must start with 'u')")
    body = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        raise ValueError("encodedList is not valid base64url") from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        bits = inflater.decompress(packed, MAX_STATUS_LIST_BYTES + 1)
    except zlib.error:
        raise ValueError("encodedList is not GZIP-compressed") from None
    if len(bits) > MAX_STATUS_LIST_BYTES:
        raise ValueError("encodedList decompresses to more than 16 MiB")
    return bits


def status_bit(bits: bytes, index: int) -> bool:
    if index < 0 or index // 8 >= len(bits):
        raise ValueError(f"statusListIndex {index} is outside the list ({len(bits) * 8} entries)")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(*, revoked: Iterable[int], issued_at: datetime) -> dict[str, Any]:
    url = status_list_url()
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(),
        "validFrom": iso(issued_at),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(revoked),
        },
    }
