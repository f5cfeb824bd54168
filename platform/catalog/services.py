"""Importing labs: labs/<slug>/lab.toml -> Lab + an immutable LabVersion per content hash."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from graders import LabSpec, LabSpecError, load_lab

from .models import Lab, LabVersion
from .snapshots import write_snapshot


class LabImportError(ValueError):
    """The labs folder as a whole cannot be imported (no labs, a slug used twice)."""


@dataclass(frozen=True)
class Imported:
    slug: str
    version: str
    content_hash: str
    new_version: bool  # a new LabVersion was published
    now_current: bool  # the lab's current version changed


def lab_folders(path: Path) -> list[Path]:
    """One lab folder (it holds lab.toml), or every lab folder inside a labs folder."""
    path = Path(path)
    if (path / "lab.toml").is_file():
        return [path]
    if not path.is_dir():
        raise LabImportError(f"{path} is not a folder")
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        raise LabImportError(f"no labs under {path} (expected {path}/<slug>/lab.toml)")
    return folders


def import_labs(*, path: Path) -> list[Imported]:
    """Read every lab first (a LabSpecError stops everything), then publish them all in one transaction."""
    specs = [load_lab(folder) for folder in lab_folders(path)]
    briefs = [_read_brief(spec) for spec in specs]
    seen: dict[str, Path] = {}
    for spec in specs:
        if spec.slug in seen:
            raise LabImportError(f"{spec.root / 'lab.toml'}: slug: {spec.slug!r} is also the slug of {seen[spec.slug]}")
        seen[spec.slug] = spec.root
    with transaction.atomic():
        return [_publish(spec, brief) for spec, brief in zip(specs, briefs, strict=True)]


def _read_brief(spec: LabSpec) -> str:
    try:
        return spec.brief_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LabSpecError(spec.brief_path, "(file)", f"is not UTF-8: {exc}") from None


def _publish(spec: LabSpec, brief: str) -> Imported:
    lab, _ = Lab.objects.select_for_update().get_or_create(
        slug=spec.slug, defaults={"title": spec.title, "summary": spec.summary}
    )
    version = LabVersion.objects.filter(content_hash=spec.content_hash).first()
    new_version = version is None
    if version is None:
        write_snapshot(spec)
        version = LabVersion.objects.create(
            lab=lab,
            content_hash=spec.content_hash,
            version=spec.version,
            title=spec.title,
            summary=spec.summary,
            queue=spec.queue,
            pass_bar=spec.pass_bar,
            editable=list(spec.editable),
            brief=brief,
        )
    now_current = lab.current_version_id != version.pk
    Lab.objects.filter(pk=lab.pk).update(title=spec.title, summary=spec.summary, current_version=version)
    return Imported(spec.slug, spec.version, spec.content_hash, new_version, now_current)
