"""What a portfolio shows: per lab, the best live credential, its report, and the code if published."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Max

from catalog.models import Lab
from credentials.models import Credential

from .models import LabVisibility, Portfolio

MAX_CODE_BYTES = 256 * 1024  # all published files of one lab together
MAX_FILE_BYTES = 64 * 1024


@dataclass
class CodeFile:
    name: str
    text: str | None  # None: binary or too large
    size: int


@dataclass
class Entry:
    lab: Lab
    credential: Credential
    skills: list[str]
    visible: bool = True
    publish_code: bool = False
    report: dict[str, Any] = field(default_factory=dict)


def portfolio_for(user: Any) -> Portfolio:
    portfolio, _ = Portfolio.objects.get_or_create(user=user)
    return portfolio


def _skills(credential: Credential) -> list[str]:
    try:
        ach = json.loads(credential.document)["credentialSubject"]["achievement"]
        return [a["targetName"] for a in ach.get("alignment", []) if isinstance(a, dict) and "targetName" in a]
    except (ValueError, KeyError, TypeError):
        return []


def entries(portfolio: Portfolio, *, public_only: bool) -> list[Entry]:
    """One entry per lab the learner passed: the best live (unrevoked) credential; hidden labs only for the owner."""
    credentials = (
        Credential.objects.filter(learner_id=portfolio.user_id, revoked_at__isnull=True)
        .select_related("lab_version__lab")
        .order_by("lab_version__lab__title", "-score", "-issued_at")
    )
    settings = {v.lab_id: v for v in LabVisibility.objects.filter(portfolio=portfolio)}
    seen: set[int] = set()
    out = []
    for credential in credentials:
        lab = credential.lab_version.lab
        if lab.pk in seen:
            continue
        seen.add(lab.pk)
        choice = settings.get(lab.pk)
        entry = Entry(lab=lab, credential=credential, skills=_skills(credential),
                      visible=choice.visible if choice else True, publish_code=bool(choice and choice.publish_code))
        if public_only and not entry.visible:
            continue
        out.append(entry)
    return out


def with_report(entry: Entry) -> Entry:
    try:
        entry.report = json.loads(entry.credential.report_bytes)
    except ValueError:
        entry.report = {}
    return entry


def code_files(entry: Entry) -> list[CodeFile]:
    """The submitted files of the credential's attempt, as text where they are text (only if published)."""
    if not entry.publish_code:
        return []
    root = Path(entry.credential.attempt.submission.files_dir)
    if not root.is_dir():
        return []
    files, budget = [], MAX_CODE_BYTES
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        text = None
        if size <= min(MAX_FILE_BYTES, budget):
            try:
                text = path.read_bytes().decode("utf-8")
                budget -= size
            except UnicodeDecodeError:
                text = None
        files.append(CodeFile(name=path.relative_to(root).as_posix(), text=text, size=size))
    return files


def etag(portfolio: Portfolio) -> str:
    """Changes whenever anything the public page shows can change (settings, credentials, revocations)."""
    agg = Credential.objects.filter(learner_id=portfolio.user_id).aggregate(issued=Max("issued_at"), revoked=Max("revoked_at"))
    count = Credential.objects.filter(learner_id=portfolio.user_id, revoked_at__isnull=True).count()
    raw = f"{portfolio.pk}|{portfolio.updated_at.isoformat()}|{agg['issued']}|{agg['revoked']}|{count}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
