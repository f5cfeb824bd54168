"""LabSpec: one lab version as data, read from labs/<slug>/lab.toml and checks/checks.toml.

A malformed file raises LabSpecError naming the file, the key and what is wrong, so
an author fixes it in one go. Nothing here imports Django.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import CEILING, Limits

from .hashing import tree_hash

MiB = 1024 * 1024
OPS = ("==", "!=", ">=", "<=", ">", "<")
CHECK_KINDS = ("compare", "match", "points", "ranking")
# kind "ranking": the metric and its cut-off, e.g. recall@10 or ndcg@10
RANKING_METRIC = re.compile(r"^(recall|ndcg|mrr|precision)@([1-9][0-9]{0,2})$")
QUEUES = ("cpu", "gpu")
GPU_OPTIONAL = "optional"  # lab.toml `gpu = "optional"`


class LabSpecError(ValueError):
    def __init__(self, file: Path, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class SubmissionLimits:
    max_files: int = 50
    max_bytes: int = 2 * MiB  # all files together, unpacked
    max_file_bytes: int = 512 * 1024
    max_upload_bytes: int = 2 * MiB  # the zip as uploaded


@dataclass(frozen=True)
class NotebookSpec:
    """A lab that takes a Jupyter notebook in place of its modules (see harness/sfnotebook.py).
    The notebook's definitions are exported to each of them (a lab of several modules gets
    one notebook that defines everything)."""

    modules: tuple[str, ...]
    cell_seconds: float = 30.0
    total_seconds: float = 120.0
    output_bytes: int = 64 * 1024


@dataclass(frozen=True)
class CheckSpec:
    id: str
    name: str
    weight: float
    kind: str  # compare: observations[observe] <op> threshold; match: items equal to expected;
    # points: observations[observe] is the partial credit earned, 0..weight
    observe: str
    op: str = ">="
    threshold: float | bool | str | None = None
    unit: str = ""
    explain: str = ""  # what to do about a failure, shown to the learner
    expected: str = ""  # match, ranking: name of a file in checks/expected/ (host only)
    metric: str = ""  # ranking: recall@k, ndcg@k, mrr@k or precision@k


@dataclass(frozen=True)
class LabSpec:
    root: Path
    slug: str
    title: str
    summary: str
    version: str
    content_hash: str
    pass_bar: float
    image: str
    queue: str  # cpu | gpu (lab.toml `gpu = true`); an optional-GPU lab's is cpu, its fallback
    driver_command: tuple[str, ...]
    limits: Limits
    submission: SubmissionLimits
    checks: tuple[CheckSpec, ...]
    editable: tuple[str, ...] = field(default=())
    tags: tuple[str, ...] = field(default=())
    notebook: NotebookSpec | None = None
    inspector: str = ""  # a graders.inspectors name, run on the host over the submission as data
    inspector_options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    gpu_optional: bool = False  # lab.toml `gpu = "optional"`: the gpu queue while a GPU worker is alive, else cpu

    @property
    def gpu(self) -> bool:
        """The lab needs a GPU (`gpu = true`): it only ever runs on the gpu queue."""
        return self.queue == "gpu"

    @property
    def brief_path(self) -> Path:
        return self.root / "brief.md"

    @property
    def starter_dir(self) -> Path:
        return self.root / "starter"

    @property
    def solution_dir(self) -> Path:
        return self.root / "solution"

    @property
    def driver_dir(self) -> Path:
        return self.root / "checks" / "driver"

    @property
    def expected_dir(self) -> Path:
        return self.root / "checks" / "expected"


class _Table:
    """Typed reads from a TOML table that name the file and key when they fail."""

    def __init__(self, file: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.file, self.data, self.prefix = file, data, prefix

    def _err(self, key: str, problem: str) -> LabSpecError:
        return LabSpecError(self.file, self.prefix + key, problem)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, choices: tuple[Any, ...] = ()) -> Any:
        if key not in self.data:
            if default is ...:
                raise self._err(key, "is required")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self._err(key, f"must be {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self._err(key, f"must be {_kind_name(kind)}, got {type(value).__name__} {value!r}")
        if choices and value not in choices:
            raise self._err(key, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value

    def positive(self, key: str, default: float) -> float:
        value = self.get(key, (int, float), default)
        if value <= 0:
            raise self._err(key, f"must be greater than 0, got {value}")
        return value

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if not all(isinstance(v, str) and v for v in value):
            raise self._err(key, "must be a list of non-empty strings")
        return tuple(value)

    def table(self, key: str) -> _Table:
        return _Table(self.file, self.get(key, dict, {}), f"{self.prefix}{key}.")

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self._err(extra[0], "is not a known key (a typo?)")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabSpecError(path, "(file)", "is missing") from None
    except UnicodeDecodeError as exc:
        raise LabSpecError(path, "(file)", f"is not UTF-8: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LabSpecError(path, "(syntax)", str(exc)) from None


def _limits(t: _Table) -> Limits:
    t.unknown({"wall_seconds", "cpu_seconds", "memory_mb", "pids", "disk_mb", "files", "output_kb", "return_kb"})
    d = Limits()
    wanted = Limits(
        wall_seconds=float(t.positive("wall_seconds", d.wall_seconds)),
        cpu_seconds=float(t.positive("cpu_seconds", d.cpu_seconds)),
        memory_bytes=int(t.positive("memory_mb", d.memory_bytes // MiB) * MiB),
        pids=int(t.positive("pids", d.pids)),
        disk_bytes=int(t.positive("disk_mb", d.disk_bytes // MiB) * MiB),
        files=int(t.positive("files", d.files)),
        output_bytes=int(t.positive("output_kb", d.output_bytes // 1024) * 1024),
        return_bytes=int(t.positive("return_kb", d.return_bytes // 1024) * 1024),
    )
    return wanted.capped(CEILING)


def _submission(t: _Table) -> SubmissionLimits:
    t.unknown({"max_files", "max_bytes", "max_file_bytes", "max_upload_bytes"})
    d = SubmissionLimits()
    return SubmissionLimits(
        max_files=int(t.positive("max_files", d.max_files)),
        max_bytes=int(t.positive("max_bytes", d.max_bytes)),
        max_file_bytes=int(t.positive("max_file_bytes", d.max_file_bytes)),
        max_upload_bytes=int(t.positive("max_upload_bytes", d.max_upload_bytes)),
    )


def _notebook(t: _Table, editable: tuple[str, ...]) -> NotebookSpec | None:
    if not t.data:
        return None
    t.unknown({"module", "cell_seconds", "total_seconds", "output_kb"})
    value = t.get("module", (str, list))
    modules = (value,) if isinstance(value, str) else t.strings("module")
    for module in modules:
        if module not in editable:
            raise t._err("module", f"must name editable files ({', '.join(editable) or 'none'}), got {module!r}")
    d = NotebookSpec(modules)
    return NotebookSpec(
        modules=modules,
        cell_seconds=float(t.positive("cell_seconds", d.cell_seconds)),
        total_seconds=float(t.positive("total_seconds", d.total_seconds)),
        output_bytes=int(t.positive("output_kb", d.output_bytes // 1024) * 1024),
    )


def _checks(path: Path, expected_dir: Path) -> tuple[CheckSpec, ...]:
    data = _read_toml(path)
    entries = data.get("check")
    if not isinstance(entries, list) or not entries:
        raise LabSpecError(path, "check", "needs at least one [[check]] table")
    seen: set[str] = set()
    checks = []
    for i, entry in enumerate(entries):
        t = _Table(path, entry, f"check[{i}].")
        t.unknown({"id", "name", "weight", "kind", "observe", "op", "threshold", "unit", "explain", "expected",
                   "metric"})
        check = CheckSpec(
            id=t.get("id", str),
            name=t.get("name", str),
            weight=float(t.positive("weight", 1)),
            kind=t.get("kind", str, "compare", choices=CHECK_KINDS),
            observe=t.get("observe", str),
            op=t.get("op", str, ">=", choices=OPS),
            threshold=t.get("threshold", (int, float, bool, str), None),
            unit=t.get("unit", str, ""),
            explain=t.get("explain", str, ""),
            expected=t.get("expected", str, ""),
            metric=t.get("metric", str, ""),
        )
        if check.id in seen:
            raise LabSpecError(path, f"check[{i}].id", f"duplicate id {check.id!r}")
        seen.add(check.id)
        if check.kind == "compare" and check.threshold is None:
            raise LabSpecError(path, f"check[{i}].threshold", "is required for kind 'compare'")
        if check.kind == "ranking":
            if not RANKING_METRIC.match(check.metric):
                raise LabSpecError(path, f"check[{i}].metric", "must be recall@k, ndcg@k, mrr@k or precision@k "
                                                               f"(k from 1 to 999), got {check.metric!r}")
            if isinstance(check.threshold, bool) or not isinstance(check.threshold, int | float):
                raise LabSpecError(path, f"check[{i}].threshold", "is required for kind 'ranking' (a number)")
        if check.kind in ("match", "ranking") and not (expected_dir / check.expected).is_file():
            raise LabSpecError(path, f"check[{i}].expected", f"names no file in {expected_dir}")
        checks.append(check)
    return tuple(checks)


def load_lab(root: Path) -> LabSpec:
    """Read and validate a lab folder."""
    root = Path(root).resolve()
    path = root / "lab.toml"
    t = _Table(path, _read_toml(path))
    t.unknown({"slug", "title", "summary", "version", "pass_bar", "image", "queue", "editable", "tags",
               "limits", "submission", "driver", "host", "notebook", "gpu"})
    slug = t.get("slug", str)
    if not slug.replace("-", "").isalnum() or slug != slug.lower():
        raise LabSpecError(path, "slug", f"must be lowercase letters, digits and '-', got {slug!r}")
    pass_bar = float(t.get("pass_bar", (int, float), 0.8))
    if not 0 < pass_bar <= 1:
        raise LabSpecError(path, "pass_bar", f"must be in (0, 1], got {pass_bar}")
    driver = t.table("driver")
    driver.unknown({"command"})
    for folder in ("starter", "solution", "checks/driver"):
        if not (root / folder).is_dir():
            raise LabSpecError(path, "(layout)", f"the lab needs a {folder}/ folder")
    if not (root / "brief.md").is_file():
        raise LabSpecError(path, "(layout)", "the lab needs a brief.md")
    # `gpu = true` routes the lab to the gpu queue (a worker there claims one device per job);
    # `queue` is the older spelling of the same choice. `gpu = "optional"`: the lab prefers a
    # GPU but runs without one; each submission picks its queue (submissions/gpus.py: route).
    gpu = t.data.get("gpu", False)
    if not isinstance(gpu, bool) and gpu != GPU_OPTIONAL:
        raise LabSpecError(path, "gpu", f'must be true, false or "{GPU_OPTIONAL}", got {gpu!r}')
    optional = gpu == GPU_OPTIONAL
    queue = t.get("queue", str, "gpu" if gpu is True else "cpu", choices=QUEUES)
    if gpu is True and queue != "gpu":
        raise LabSpecError(path, "queue", f"a lab with gpu = true runs on the gpu queue, not {queue!r}")
    if optional and queue != "cpu":
        raise LabSpecError(path, "queue", f'a lab with gpu = "{GPU_OPTIONAL}" falls back to the cpu queue and picks '
                                          f"the gpu queue itself while a GPU worker is alive; leave queue out, not {queue!r}")
    host = t.table("host")
    host.unknown({"inspect", "options"})
    inspector = host.get("inspect", str, "")
    if inspector:
        from .inspectors import INSPECTORS

        if inspector not in INSPECTORS:
            raise LabSpecError(path, "host.inspect", f"must be one of {', '.join(sorted(INSPECTORS)) or '(none)'}, "
                                                     f"got {inspector!r}")
    editable = t.strings("editable", [])
    for name in editable:
        if not (root / "starter" / name).is_file():
            raise LabSpecError(path, "editable", f"{name!r} is not a file in starter/")
    notebook = _notebook(t.table("notebook"), editable)
    limits = _limits(t.table("limits"))
    if notebook and notebook.total_seconds >= limits.wall_seconds:
        raise LabSpecError(path, "notebook.total_seconds", f"must leave the driver time: it is {notebook.total_seconds:g} s, "
                                                           f"the wall limit {limits.wall_seconds:g} s")
    return LabSpec(
        root=root,
        slug=slug,
        title=t.get("title", str),
        summary=t.get("summary", str),
        version=t.get("version", str),
        content_hash=tree_hash(root),
        pass_bar=pass_bar,
        image=t.get("image", str, "skillforge/lab-python"),
        queue=queue,
        driver_command=driver.strings("command"),
        limits=limits,
        submission=_submission(t.table("submission")),
        checks=_checks(root / "checks" / "checks.toml", root / "checks" / "expected"),
        editable=editable,
        tags=t.strings("tags", []),
        notebook=notebook,
        inspector=inspector,
        inspector_options=dict(host.get("options", dict, {})),
        gpu_optional=optional,
    )
