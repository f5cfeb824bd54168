"""Labs as zips, the same layout as the repository, so a lab round-trips between the
browser and a checkout:

    labs/<slug>/lab.toml, brief.md, starter/, public_tests/, checks/, solution/, data/
    tests/labs/<slug>/wrong_*/      known-wrong solutions (optional; validation grades them)

Unzipped at the repository root, an export lands where `import_labs` and `labcheck` look.
An upload may also be just the lab folder: lab.toml at the zip's root, or inside one folder.
Every entry is checked before anything is written (no '..', no absolute names, no links,
sizes capped), and a refusal names the entry.
"""

from __future__ import annotations

import io
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .drafts import MAX_FILE_BYTES, AuthoringError, safe_rel

MiB = 1024 * 1024
MAX_ZIP_BYTES = 64 * MiB
MAX_UNPACKED_BYTES = 128 * MiB
MAX_ENTRIES = 2000
JUNK = ("__MACOSX", ".DS_Store", "__pycache__", ".pytest_cache", ".git")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # exports are byte-identical for the same files


@dataclass
class Bundle:
    lab: dict[PurePosixPath, bytes] = field(default_factory=dict)
    wrong: dict[PurePosixPath, bytes] = field(default_factory=dict)


def _entries(data: bytes) -> dict[PurePosixPath, bytes]:
    if len(data) > MAX_ZIP_BYTES:
        raise AuthoringError(f"The zip is {len(data)} bytes; the limit is {MAX_ZIP_BYTES}.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except UnicodeDecodeError:
        raise AuthoringError("A file name in the zip is marked UTF-8 but is not valid UTF-8.") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise AuthoringError("The upload is not a valid zip file.") from None
    files = [i for i in infos if not i.is_dir()]
    if len(files) > MAX_ENTRIES:
        raise AuthoringError(f"The zip has {len(files)} files; a lab may have at most {MAX_ENTRIES}.")
    entries: dict[PurePosixPath, bytes] = {}
    total = 0
    for info in files:
        parts = PurePosixPath(info.filename).parts
        if any(part in JUNK for part in parts) or info.filename.endswith(".pyc"):
            continue
        try:
            rel = safe_rel(info.filename)
        except AuthoringError as exc:
            raise AuthoringError(f"Zip entry {info.filename!r}: {exc}") from None
        mode = info.external_attr >> 16
        if info.flag_bits & 0x1:
            raise AuthoringError(f"Zip entry {info.filename}: encrypted entries are not accepted.")
        if stat.S_ISLNK(mode):
            raise AuthoringError(f"Zip entry {info.filename}: symbolic links are not accepted; include the file itself.")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise AuthoringError(f"Zip entry {info.filename}: not a regular file.")
        total += info.file_size
        if info.file_size > MAX_FILE_BYTES or total > MAX_UNPACKED_BYTES:
            raise AuthoringError(f"Zip entry {info.filename}: the zip unpacks to more than the limit "
                                 f"({MAX_FILE_BYTES} bytes per file, {MAX_UNPACKED_BYTES} in all).")
        try:
            with archive.open(info) as fh:
                content = fh.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise AuthoringError(f"Zip entry {info.filename} could not be read ({exc}).") from None
        if len(content) > MAX_FILE_BYTES:
            raise AuthoringError(f"Zip entry {info.filename} is larger than its header says.")
        if rel in entries:
            raise AuthoringError(f"Zip entry {info.filename} appears twice.")
        entries[rel] = content
    for rel in entries:
        clash = next((p for p in rel.parents if p in entries), None)
        if clash is not None:
            raise AuthoringError(f"Zip entry {clash} is both a file and a folder ({rel}).")
    return entries


def _under(entries: dict[PurePosixPath, bytes], prefix: PurePosixPath) -> dict[PurePosixPath, bytes]:
    n = len(prefix.parts)
    return {PurePosixPath(*rel.parts[n:]): data for rel, data in entries.items()
            if rel.parts[:n] == prefix.parts and len(rel.parts) > n}


def read_bundle(data: bytes) -> Bundle:
    """The lab (and wrong solutions) in an uploaded zip, or AuthoringError saying what layout was expected."""
    entries = _entries(data)
    if not entries:
        raise AuthoringError("The zip is empty.")
    names = {rel.as_posix() for rel in entries}
    if "lab.toml" in names:
        return Bundle(lab=entries)
    in_labs = sorted(rel.parts[1] for rel in entries if len(rel.parts) == 3 and rel.parts[0] == "labs"
                     and rel.parts[2] == "lab.toml")
    if len(in_labs) > 1:
        raise AuthoringError(f"The zip holds {len(in_labs)} labs ({', '.join(in_labs)}); upload one lab at a time.")
    if in_labs:
        slug = in_labs[0]
        lab_prefix, wrong_prefix = PurePosixPath("labs", slug), PurePosixPath("tests", "labs", slug)
        bundle = Bundle(lab=_under(entries, lab_prefix), wrong=_under(entries, wrong_prefix))
        for rel in entries:
            inside_lab = rel.parts[:2] == lab_prefix.parts
            inside_wrong = rel.parts[:3] == wrong_prefix.parts
            if not inside_lab and not inside_wrong:
                raise AuthoringError(f"Zip entry {rel} is outside labs/{slug}/ and tests/labs/{slug}/; "
                                     "a lab zip holds one lab (and its wrong_* solutions) only.")
            if inside_wrong and (len(rel.parts) < 5 or not rel.parts[3].startswith("wrong_")):
                raise AuthoringError(f"Zip entry {rel}: under tests/labs/{slug}/ only wrong_*/ folders are expected.")
        return bundle
    tops = {rel.parts[0] for rel in entries}
    if len(tops) == 1:
        top = PurePosixPath(next(iter(tops)))
        if top / "lab.toml" in entries:
            return Bundle(lab=_under(entries, top))
    shown = ", ".join(sorted(names)[:5]) + (" …" if len(names) > 5 else "")
    raise AuthoringError("The zip has no lab.toml where a lab keeps it: at its root, inside one folder (<slug>/lab.toml) "
                         f"or at labs/<slug>/lab.toml. It holds: {shown}")


def write_bundle(bundle: Bundle, *, lab_dir: Path, wrong_dir: Path) -> None:
    """Replace the folders' contents with the bundle's, all or nothing (staged, then swapped)."""
    staging = lab_dir.parent / f".incoming-{uuid.uuid4().hex}"
    try:
        for area, files in (("lab", bundle.lab), ("wrong", bundle.wrong)):
            root = staging / area
            root.mkdir(parents=True, exist_ok=True)
            for rel, data in files.items():
                target = root.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        for area, dest in (("lab", lab_dir), ("wrong", wrong_dir)):
            old = dest.with_name(f".old-{uuid.uuid4().hex}")
            if dest.exists():
                dest.rename(old)
            (staging / area).rename(dest)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _files(root: Path) -> list[tuple[str, Path]]:
    if not root.is_dir():
        return []
    return [(p.relative_to(root).as_posix(), p) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts and p.suffix != ".pyc"]


def export_zip(*, slug: str, lab_dir: Path, wrong_dir: Path | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        parts = [(f"labs/{slug}/{rel}", path) for rel, path in _files(lab_dir)]
        if wrong_dir is not None:
            parts += [(f"tests/labs/{slug}/{rel}", path) for rel, path in _files(wrong_dir)
                      if rel.split("/", 1)[0].startswith("wrong_")]
        for name, path in sorted(parts):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()
