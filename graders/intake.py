"""Turning what a learner sent (a zip, a set of files, a folder) into a checked folder.

Every refusal is a SubmissionRejected with a message a learner understands; nothing
here ever writes outside the destination folder.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from .labspec import SubmissionLimits

TEXT_SUFFIXES = {".py", ".txt", ".md", ".toml", ".json", ".yaml", ".yml", ".cfg", ".ini", ".ipynb", ".sh"}


class SubmissionRejected(ValueError):
    """The submission cannot be graded as sent; str(exc) is the message for the learner."""


def _safe_name(name: str) -> PurePosixPath:
    if "\\" in name or "\0" in name:
        raise SubmissionRejected(f"{name!r}: file names may not contain backslashes or NUL characters.")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise SubmissionRejected(f"{name!r} is an absolute path; zip entries must be relative to the zip's root.")
    if any(part == ".." for part in path.parts):
        raise SubmissionRejected(f"{name!r} points outside the submission folder ('..' is not allowed).")
    if not path.parts or any(part in ("", ".") for part in path.parts):
        raise SubmissionRejected(f"{name!r} is not a usable file name.")
    if len(name) > 255:
        raise SubmissionRejected(f"A file name is {len(name)} characters long; the limit is 255.")
    for part in path.parts:  # the file system counts bytes, not characters
        if len(part.encode("utf-8", "surrogateescape")) > 255:
            raise SubmissionRejected(f"{part[:40]!r}… is longer than 255 bytes once encoded; use a shorter name.")
    return path


def _check_text(rel: PurePosixPath, data: bytes) -> None:
    if rel.suffix in TEXT_SUFFIXES:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionRejected(
                f"{rel} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); save it as UTF-8."
            ) from None


def _check_notebook(rel: PurePosixPath, data: bytes) -> None:
    """A notebook must be valid nbformat 4 before it goes anywhere near a kernel."""
    if rel.suffix != ".ipynb":
        return
    import warnings

    import nbformat  # only notebooks pay for it

    try:
        with warnings.catch_warnings():  # e.g. cells without ids, from older Jupyter: still valid
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
            nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in getattr(exc, "absolute_path", ()) or ())
        raise SubmissionRejected(f"{rel} is not a valid Jupyter notebook (nbformat 4): {exc.message[:200]}"
                                 f"{f' at {where}' if where else ''}.") from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not JSON, or not a notebook's shape
        raise SubmissionRejected(f"{rel} is not a valid Jupyter notebook: {str(exc)[:200]}") from None


def _write(dest: Path, entries: list[tuple[PurePosixPath, bytes]], limits: SubmissionLimits) -> None:
    if len(entries) > limits.max_files:
        raise SubmissionRejected(f"The submission has {len(entries)} files; the limit is {limits.max_files}.")
    if not entries:
        raise SubmissionRejected("The submission is empty.")
    names = {rel for rel, _ in entries}
    for rel, _ in entries:
        clash = next((parent for parent in rel.parents if parent in names), None)
        if clash is not None:
            raise SubmissionRejected(f"{clash} is both a file and a folder ({rel}); rename one of them.")
    if len(names) != len(entries):
        raise SubmissionRejected("The submission names the same file twice.")
    total = 0
    for rel, data in entries:
        if len(data) > limits.max_file_bytes:
            raise SubmissionRejected(f"{rel} is {len(data)} bytes; the limit per file is {limits.max_file_bytes}.")
        total += len(data)
        if total > limits.max_bytes:
            raise SubmissionRejected(f"The files add up to more than {limits.max_bytes} bytes, the limit.")
        _check_text(rel, data)
        _check_notebook(rel, data)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, data in entries:
        target = dest.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def accept_zip(data: bytes, dest: Path, limits: SubmissionLimits) -> None:
    """Unpack a zip after checking every entry; refuse it whole if any entry is bad."""
    if len(data) > limits.max_upload_bytes:
        raise SubmissionRejected(f"The upload is {len(data)} bytes; the limit is {limits.max_upload_bytes}.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except UnicodeDecodeError:
        raise SubmissionRejected("A file name in the zip is marked UTF-8 but is not valid UTF-8; rename it.") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SubmissionRejected("The upload is not a valid zip file.") from None
    files = [i for i in infos if not i.is_dir()]
    if len(files) > limits.max_files:
        raise SubmissionRejected(f"The zip has {len(files)} files; the limit is {limits.max_files}.")
    entries: list[tuple[PurePosixPath, bytes]] = []
    declared = 0
    for info in files:
        rel = _safe_name(info.filename)
        mode = info.external_attr >> 16
        if info.flag_bits & 0x1:
            raise SubmissionRejected(f"{info.filename} is encrypted; submit a zip without a password.")
        if stat.S_ISLNK(mode):
            raise SubmissionRejected(f"{info.filename} is a symbolic link; submit regular files only.")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: the zip did not say (plain files)
            raise SubmissionRejected(f"{info.filename} is not a regular file.")
        declared += info.file_size
        if info.file_size > limits.max_file_bytes or declared > limits.max_bytes:
            raise SubmissionRejected(f"The zip unpacks to more than the limit ({limits.max_bytes} bytes in all, "
                                     f"{limits.max_file_bytes} per file).")
        try:
            with archive.open(info) as fh:  # read at most the cap: the declared size may lie
                content = fh.read(limits.max_file_bytes + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise SubmissionRejected(f"{info.filename} could not be read from the zip ({exc}).") from None
        entries.append((rel, content))
    entries = _strip_common_folder(entries)
    _write(dest, entries, limits)


def _strip_common_folder(entries: list[tuple[PurePosixPath, bytes]]) -> list[tuple[PurePosixPath, bytes]]:
    """A zip of a folder ('mywork/fetcher.py') grades like a zip of its contents."""
    tops = {rel.parts[0] for rel, _ in entries}
    if len(tops) == 1 and all(len(rel.parts) > 1 for rel, _ in entries):
        return [(PurePosixPath(*rel.parts[1:]), data) for rel, data in entries]
    return entries


def accept_files(files: Mapping[str, str | bytes], dest: Path, limits: SubmissionLimits) -> None:
    """Files sent as name -> content (the browser's editor, or the API's JSON)."""
    entries = [
        (_safe_name(name), content.encode("utf-8") if isinstance(content, str) else content)
        for name, content in sorted(files.items())
    ]
    _write(dest, entries, limits)


def accept_folder(src: Path, dest: Path, limits: SubmissionLimits) -> None:
    """A folder on disk (the grade command): regular files only, same checks as a zip."""
    entries = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            raise SubmissionRejected(f"{rel} is a symbolic link; submit regular files only.")
        if path.is_file():
            entries.append((PurePosixPath(rel.as_posix()), path.read_bytes()))
    _write(dest, entries, limits)


def accept_upload(name: str, data: bytes, dest: Path, limits: SubmissionLimits) -> None:
    """One uploaded file: a notebook is a submission by itself; anything else must be a zip."""
    if name.lower().endswith(".ipynb"):
        if len(data) > limits.max_upload_bytes:
            raise SubmissionRejected(f"The upload is {len(data)} bytes; the limit is {limits.max_upload_bytes}.")
        accept_files({PurePosixPath(name).name: data}, dest, limits)
    else:
        accept_zip(data, dest, limits)


def accept_path(src: Path, dest: Path, limits: SubmissionLimits) -> None:
    """A folder, a .zip file or a notebook, whichever the path is."""
    if src.is_dir():
        accept_folder(src, dest, limits)
    elif src.is_file():
        accept_upload(src.name, src.read_bytes(), dest, limits)
    else:
        raise SubmissionRejected(f"{src} is neither a folder nor a zip file.")


__all__ = ["SubmissionRejected", "accept_files", "accept_folder", "accept_path", "accept_upload", "accept_zip"]
