"""A draft's files on disk, and what is wrong with them.

A draft folder holds lab/ (exactly labs/<slug>/) and wrong/ (wrong_* folders, as in
tests/labs/<slug>/). Names are checked before any write (no '..', no absolute paths,
never through a symlink). Problems name the file, the TOML key and the line where known,
so an author fixes them in one go. Nothing here runs the lab's code: that happens only in
the sandbox.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from graders import LabSpec, LabSpecError, load_lab
from sandbox import CEILING
from sandbox.images import RECIPES

MiB = 1024 * 1024
AREAS = ("lab", "wrong")
TEXT_SUFFIXES = {".py", ".txt", ".md", ".toml", ".json", ".yaml", ".yml", ".cfg", ".ini", ".sh", ".csv", ".ipynb",
                 ".rules", ".tsv", ".jsonl", ".html", ".js", ".css", ".sql", ".env", ".dockerfile"}
TEXT_NAMES = {"Dockerfile", "Makefile", "requirements.txt", ".gitignore", ".dockerignore"}
LANGS = {".py": "python", ".toml": "toml", ".md": "markdown", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
         ".sh": "shell", ".ipynb": "json"}
MAX_FILE_BYTES = 8 * MiB
SECTIONS = [  # (first path part, heading) in the order a lab page shows them
    ("brief.md", "Brief"), ("lab.toml", "Settings (lab.toml)"), ("starter", "Starter"),
    ("public_tests", "Public tests"), ("checks", "Hidden checks"), ("solution", "Reference solution"),
    ("data", "Data"),
]
# lab.toml [limits] key -> (Limits field, how many bytes one unit is; 1 for counts and seconds)
LIMIT_KEYS = {
    "wall_seconds": ("wall_seconds", 1), "cpu_seconds": ("cpu_seconds", 1), "memory_mb": ("memory_bytes", MiB),
    "pids": ("pids", 1), "disk_mb": ("disk_bytes", MiB), "files": ("files", 1), "output_kb": ("output_bytes", 1024),
    "return_kb": ("return_bytes", 1024),
}


class AuthoringError(ValueError):
    """Something an instructor asked for cannot be done as asked; str(exc) says why, for a form."""


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the lab folder, e.g. "lab.toml", "checks/checks.toml", "solution/"
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line else "")
        key = "" if self.key.startswith("(") else f"{self.key}: "
        return f"{where}: {key}{self.message}"


@dataclass(frozen=True)
class FileEntry:
    area: str
    path: str
    size: int
    text: bool

    @property
    def lang(self) -> str:
        return LANGS.get(PurePosixPath(self.path).suffix, "text")


# --- names and files ---------------------------------------------------------------------


def safe_rel(name: str) -> PurePosixPath:
    """A relative file name inside a draft area, or AuthoringError."""
    name = (name or "").strip().replace("\\", "/")
    path = PurePosixPath(name)
    if not name or "\0" in name or path.is_absolute():
        raise AuthoringError(f"{name!r} is not a usable file name: give a relative path such as starter/main.py.")
    if any(part in ("", ".", "..") for part in path.parts):
        raise AuthoringError(f"{name!r} may not contain '.' or '..' parts.")
    if any(part in ("__pycache__",) or part.endswith(".pyc") for part in path.parts):
        raise AuthoringError(f"{name!r}: compiled Python files are not part of a lab.")
    if len(name) > 255 or any(len(part.encode()) > 255 for part in path.parts):
        raise AuthoringError(f"{name[:40]!r}… is too long a name.")
    return path


def area_root(draft: Any, area: str) -> Path:
    if area not in AREAS:
        raise AuthoringError(f"unknown area {area!r}")
    return draft.lab_dir if area == "lab" else draft.wrong_dir


def resolve(root: Path, rel: PurePosixPath) -> Path:
    """root/rel, refusing anything that is (or passes through) a symlink or leaves root."""
    target = root.joinpath(*rel.parts)
    here = root
    for part in rel.parts:
        here = here / part
        if here.is_symlink():
            raise AuthoringError(f"{rel} passes through a symbolic link.")
    if not target.resolve().is_relative_to(root.resolve()):
        raise AuthoringError(f"{rel} is outside the lab folder.")
    return target


def is_text_name(name: str) -> bool:
    path = PurePosixPath(name)
    return path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES


MAX_TEXT_BYTES = 1024 * 1024  # larger files are downloaded and uploaded, not edited in a textarea


def is_text(name: str, data: bytes) -> bool:
    if b"\0" in data or len(data) > MAX_TEXT_BYTES:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return is_text_name(name) or len(data) < 256 * 1024


def list_files(root: Path, area: str) -> list[FileEntry]:
    if not root.is_dir():
        return []
    entries = []
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.suffix == ".pyc" or path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        text = size <= MAX_TEXT_BYTES and is_text(rel.as_posix(), path.read_bytes())
        entries.append(FileEntry(area, rel.as_posix(), size, text))
    return entries


def sections(files: list[FileEntry]) -> list[tuple[str, list[FileEntry]]]:
    """Lab files grouped the way an author thinks of them; anything else under 'Other files'."""
    grouped: dict[str, list[FileEntry]] = {heading: [] for _, heading in SECTIONS}
    other: list[FileEntry] = []
    for entry in files:
        top = PurePosixPath(entry.path).parts[0]
        heading = next((h for part, h in SECTIONS if part == top), None)
        (grouped[heading] if heading else other).append(entry)
    result = list(grouped.items())
    if other:
        result.append(("Other files", other))
    return result


def read_file(draft: Any, area: str, name: str) -> bytes:
    root = area_root(draft, area)
    path = resolve(root, safe_rel(name))
    if not path.is_file():
        raise AuthoringError(f"{name} does not exist in this draft.")
    return path.read_bytes()


def check_new_name(area: str, rel: PurePosixPath) -> None:
    if area == "wrong" and (len(rel.parts) < 2 or not rel.parts[0].startswith("wrong_")):
        raise AuthoringError(f"{rel}: a wrong solution lives in a folder named wrong_<something>/, "
                             "e.g. wrong_off_by_one/main.py.")


def write_file(draft: Any, area: str, name: str, data: bytes) -> Path:
    rel = safe_rel(name)
    check_new_name(area, rel)
    if len(data) > MAX_FILE_BYTES:
        raise AuthoringError(f"{rel} is {len(data)} bytes; a lab file may be at most {MAX_FILE_BYTES} bytes.")
    root = area_root(draft, area)
    root.mkdir(parents=True, exist_ok=True)
    target = resolve(root, rel)
    for parent in rel.parents:
        if str(parent) != "." and root.joinpath(*parent.parts).is_file():
            raise AuthoringError(f"{parent} is a file, so {rel} cannot be created inside it.")
    if target.is_dir():
        raise AuthoringError(f"{rel} is a folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def delete_file(draft: Any, area: str, name: str) -> None:
    root = area_root(draft, area)
    rel = safe_rel(name)
    target = resolve(root, rel)
    if not target.is_file():
        raise AuthoringError(f"{name} does not exist in this draft.")
    target.unlink()
    for parent in target.parents:  # drop folders left empty, but keep the area itself
        if parent == root or not parent.is_relative_to(root) or any(parent.iterdir()):
            break
        parent.rmdir()


def copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"),
                    dirs_exist_ok=True)


# --- problems ------------------------------------------------------------------------------


_HEADER = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]?\]\s*(#.*)?$")


def locate(text: str, key: str) -> int | None:
    """The 1-based line that sets a dotted key ('limits.memory_mb', 'check[2].weight', 'slug')."""
    m = re.fullmatch(r"(?:([A-Za-z0-9_]+)\[(\d+)\]\.|([A-Za-z0-9_.]+)\.)?([A-Za-z0-9_]+)", key)
    if not m:
        return None
    array, index, table, leaf = m.group(1), m.group(2), m.group(3), m.group(4)
    want_table = array or table or ""
    want_index = int(index) if index is not None else None
    current, seen = "", -1
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            current = header.group(2).strip()
            if header.group(1) and current == want_table:
                seen += 1
            if current == f"{want_table}.{leaf}".strip(".") and want_index is None:
                return number  # the key is itself a table ([host.options])
            continue
        if current != want_table or (want_index is not None and seen != want_index):
            continue
        if re.match(rf"^\s*\"?{re.escape(leaf)}\"?\s*=", line):
            return number
    return None


def _line_of(root: Path, file: Path, key: str, problem: str) -> int | None:
    found = re.search(r"at line (\d+)", problem)
    if found:
        return int(found.group(1))
    if key.startswith("("):
        return None
    try:
        return locate(file.read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        return None


def from_spec_error(root: Path, exc: LabSpecError) -> Problem:
    file = Path(exc.file)
    try:
        rel = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = file.name
    return Problem(rel, exc.key, exc.problem, _line_of(root, file, exc.key, exc.problem))


def _raw_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _ceilings(root: Path) -> list[Problem]:
    """Limits above the platform's ceilings: load_lab quietly caps them; an author should hear about it."""
    path = root / "lab.toml"
    text = path.read_text(encoding="utf-8")
    limits = _raw_toml(path).get("limits", {})
    problems = []
    for key, (field, unit) in LIMIT_KEYS.items():
        value = limits.get(key) if isinstance(limits, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        ceiling = getattr(CEILING, field) / unit
        if value > ceiling:
            problems.append(Problem("lab.toml", f"limits.{key}", f"{value:g} is over the platform ceiling of {ceiling:g}",
                                    locate(text, f"limits.{key}")))
    return problems


def _weights(root: Path) -> list[Problem]:
    """Weights are relative (2, 3, 1 …). Fractions that do not add up to 1 are almost always a slip."""
    path = root / "checks" / "checks.toml"
    entries = _raw_toml(path).get("check", [])
    weights = [e.get("weight", 1) for e in entries if isinstance(e, dict)]
    if not weights or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
        return []
    total = float(sum(weights))
    if all(w < 1 for w in weights) and abs(total - 1.0) > 1e-6:
        return [Problem("checks/checks.toml", "check[0].weight",
                        f"the weights look like fractions of 1 but sum to {total:g}; make them sum to 1, "
                        "or use whole numbers (weights are relative)",
                        locate(path.read_text(encoding="utf-8"), "check[0].weight"))]
    return []


def platform_images() -> list[str]:
    """The lab images this platform builds from its own recipes (sandbox/images/<name>/)."""
    return sorted(f"skillforge/{p.name}" for p in RECIPES.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")))


def _image(spec: LabSpec) -> list[Problem]:
    """A lab runs only in an image the platform builds: an uploaded lab may not name any image to pull."""
    if spec.image in platform_images():
        return []
    text = (spec.root / "lab.toml").read_text(encoding="utf-8")
    return [Problem("lab.toml", "image", f"{spec.image!r} is not an image this platform builds "
                                         f"({', '.join(platform_images())})", locate(text, "image"))]


def _layout(spec: LabSpec) -> list[Problem]:
    problems = []
    for folder in ("solution", "starter"):
        if not any(p.is_file() for p in (spec.root / folder).rglob("*")):
            problems.append(Problem(f"{folder}/", "(layout)", f"the lab needs at least one file in {folder}/"))
    return problems


def lint_folder(root: Path) -> tuple[LabSpec | None, list[Problem]]:
    """Load the lab folder as the platform will, plus the authoring rules; every problem found."""
    try:
        spec = load_lab(root)
    except LabSpecError as exc:
        return None, [from_spec_error(root, exc)]
    problems = _ceilings(root) + _weights(root) + _image(spec) + _layout(spec)
    return spec, problems


def lint_draft(draft: Any) -> tuple[LabSpec | None, list[Problem]]:
    """lint_folder, and the draft's slug must stay its own (a new slug is a new lab)."""
    spec, problems = lint_folder(draft.lab_dir)
    if spec is not None and spec.slug != draft.slug:
        text = (draft.lab_dir / "lab.toml").read_text(encoding="utf-8")
        problems.insert(0, Problem("lab.toml", "slug", f"this draft is {draft.slug!r}; a lab's slug cannot change "
                                                       "(create a new lab instead)", locate(text, "slug")))
    return spec, problems


def try_write(draft: Any, changes: dict[str, bytes]) -> list[Problem]:
    """Write lab files, but put them back if that introduced a problem (returned); [] when saved."""
    root = draft.lab_dir
    before = {str(p) for p in lint_draft(draft)[1]}
    old: dict[str, bytes | None] = {}
    for name, data in changes.items():
        path = resolve(root, safe_rel(name))
        old[name] = path.read_bytes() if path.is_file() else None
        write_file(draft, "lab", name, data)
    new_problems = [p for p in lint_draft(draft)[1] if str(p) not in before]
    if new_problems:
        for name, previous in old.items():
            if previous is None:
                delete_file(draft, "lab", name)
            else:
                write_file(draft, "lab", name, previous)
    return new_problems
