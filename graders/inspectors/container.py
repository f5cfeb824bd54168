"""The `container` host inspector: a learner's Dockerfile, image and Kubernetes manifests.

Trusted platform code, run on the host before the sandbox (graders.inspectors). It never
executes the submission on the host. Two parts, each reading the submission as data:

Image (needs a Docker engine; without one every image observation is
Unavailable("needs Docker: …") and those checks say so instead of passing):
  image_build       "ok", or why the image did not build, in the learner's words. The
                    Dockerfile is read first: FROM must be the platform's base image (or
                    an earlier stage), ADD may not download. Then the engine builds it with
                    no network, no cache, a time limit and a capped context.
  image_added_mb    MiB the learner's layers add on top of the base image.
  baked_secrets     "none", or the first secret found in the image: secret files (.env,
                    id_rsa, …) or key-shaped strings in files the build copies from the
                    context, and in the image's history and config (ENV, ARG, RUN).
  container_healthz, container_readyz
                    HTTP status of the health and readiness paths (0: no answer), polled
                    until the service is up. The container runs as its image says (USER,
                    CMD), with no network, a read-only root, no capabilities; a probe
                    container from the platform's own image joins its network and process
                    namespaces, so nothing the learner's image holds takes part in the probe.
  container_uid     the lowest effective uid among the container's processes (0: root).
  stop_exit_code    exit code after SIGTERM (the container must exit within stop_timeout).
Every image and container made here is labelled and removed before returning.

Manifests (pure data; parsed with yaml.safe_load_all, validated against the Kubernetes
OpenAPI schemas that kubernetes-validate ships offline, for a fixed version):
  manifest_errors, manifest_probes, manifest_resources, manifest_rollout, manifest_pdb,
  manifest_hpa, manifest_security: "none", or the first problem found (+ how many more).

Every observation is deterministic for a given submission: timings only bound waits, and
every message is built from the submission and fixed text, never from clocks or ids.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import socket
import stat
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from . import Unavailable

if TYPE_CHECKING:
    from ..labspec import LabSpec

MiB = 1024 * 1024
NONE = "none"  # the value of a manifest or secrets observation that found no problem
LABEL = "skillforge.inspector"
OWNER = "skillforge.owner"  # host:pid of the process that made it (sweep_orphans)
IMAGE_OBSERVATIONS = ("image_build", "image_added_mb", "baked_secrets", "container_healthz", "container_readyz",
                      "container_uid", "stop_exit_code")


@dataclass(frozen=True)
class Options:
    """[host.options] of a lab using this inspector; every key optional."""

    base_image: str = "skillforge/lab-python"
    dockerfile: str = "Dockerfile"
    manifests: str = "k8s"  # folder of *.yaml / *.yml in the submission
    kubernetes_version: str = "1.30"
    port: int = 8080  # passed to the container as $PORT
    healthz: str = "/healthz"
    readyz: str = "/readyz"
    build_timeout: float = 120.0
    start_timeout: float = 20.0  # for the service to answer its health paths
    stop_timeout: float = 10.0  # from SIGTERM to exit
    memory_mb: int = 256
    context_max_bytes: int = 4 * MiB
    build_disk_mb: int = 1024  # what one build step may write before it is stopped

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> Options:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                raise ValueError(f"unknown option host.options.{key}")
            kind = type(getattr(cls(), key))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not kind:
                raise ValueError(f"host.options.{key} must be {kind.__name__}, got {value!r}")
            values[key] = value
        return cls(**values)


def inspect(submission: Path, lab: LabSpec) -> dict[str, Any]:
    """The inspector's entry point (graders.inspectors.INSPECTORS['container'])."""
    opts = Options.from_mapping(lab.inspector_options)
    observations: dict[str, Any] = manifest_observations(submission / opts.manifests, opts)
    observations.update(image_observations(submission, opts))
    return {name: _text(value) for name, value in observations.items()}


def _text(value: Any) -> Any:
    """Messages quote the learner's own files: cap them, and no NUL (PostgreSQL's jsonb refuses it)."""
    if isinstance(value, str):
        value = value.replace("\x00", "\ufffd")
        return value if len(value) <= 600 else value[:599] + "…"
    return value


# --------------------------------------------------------------------------------------
# Dockerfile, read as data before anything is built
# --------------------------------------------------------------------------------------

class Refused(Exception):
    """The submission cannot be built as sent; str(exc) is the learner's message."""


@dataclass(frozen=True)
class Copy:
    keyword: str  # COPY or ADD
    sources: tuple[str, ...]
    from_stage: bool  # COPY --from=<stage>: sources are not in the build context


@dataclass
class Dockerfile:
    copies: list[Copy] = field(default_factory=list)


DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, instruction) with continuations joined and comments dropped, as the
    Docker builder reads them. Hand-written: dockerfile-parse is not a dependency here,
    and the builder's own parser runs anyway; this only needs FROM, COPY and ADD."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:  # parser directives come first, before any instruction or comment
        m = DIRECTIVE.match(line)
        if not m:
            break
        if m[1].lower() == "escape" and m[2] in ("\\", "`"):
            escape = m[2]
    parts: list[str] = []
    start = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, where the builder skips them too
        if not parts:
            start = number
        if line.rstrip().endswith(escape):
            parts.append(line.rstrip()[:-1])
            continue
        parts.append(line)
        yield start, "".join(parts).strip()
        parts = []
    if parts:
        yield start, "".join(parts).strip()


def _flags_and_args(rest: str) -> tuple[dict[str, str], list[str]]:
    flags: dict[str, str] = {}
    words = rest.split()
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name.lower()] = value
    tail = " ".join(words)
    if tail.startswith("["):
        try:
            parsed = json.loads(tail)
            if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
                return flags, parsed
        except ValueError:
            pass
    return flags, words


def read_dockerfile(text: str, base_image: str) -> Dockerfile:
    """The COPY/ADD sources of every stage, after refusing what needs a registry or the
    internet: the build has neither, and a clear message beats the engine's."""
    allowed = {base_image, f"{base_image}:latest"}
    stages: list[str] = []
    result = Dockerfile()
    for number, instruction in logical_lines(text):
        keyword, _, rest = instruction.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            flags, args = _flags_and_args(rest)
            image = args[0] if args else ""
            if "$" in image:
                raise Refused(f"line {number}: FROM {image}: name the base image literally ({base_image}), "
                              "not through a build argument.")
            if image.lower() not in allowed and image.lower() not in stages:
                raise Refused(f"line {number}: FROM {image[:80]}: images here can only be built FROM the platform's "
                              f"base image {base_image} (or an earlier stage of your Dockerfile); there is no registry "
                              f"to pull other images from. {base_image} already has Python 3.11, aiohttp, numpy and "
                              "the other packages listed in the brief.")
            stages.append(str(len(stages)))
            if len(args) >= 3 and args[1].upper() == "AS":
                stages.append(args[2].lower())
        elif keyword in ("COPY", "ADD"):
            flags, args = _flags_and_args(rest)
            sources = tuple(args[:-1])
            origin = flags.get("from")
            if origin is not None and origin.lower() not in stages:
                raise Refused(f"line {number}: {keyword} --from={origin[:80]}: copy only from an earlier stage of your "
                              "Dockerfile; other images would have to be pulled from a registry, and there is none.")
            if keyword == "ADD" and any("://" in s or s.startswith("git@") for s in sources):
                raise Refused(f"line {number}: ADD of a URL downloads at build time, but images are built with no "
                              "network. Put the file in your submission and COPY it.")
            result.copies.append(Copy(keyword, sources, origin is not None))
    if not stages:
        raise Refused(f"the Dockerfile has no FROM line; start it with FROM {base_image}.")
    return result


# --------------------------------------------------------------------------------------
# The build context: the submission less .dockerignore, as a tar with fixed metadata
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    files: dict[str, bytes]  # relative path -> content, regular files only
    tar: bytes


def read_context(root: Path, opts: Options) -> Context:
    from docker.utils.build import exclude_paths

    patterns: list[str] = []
    ignore = root / ".dockerignore"
    if ignore.is_file():
        text = ignore.read_bytes()[:64 * 1024].decode("utf-8", "replace")
        patterns = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    files: dict[str, bytes] = {}
    total = 0
    for rel in sorted(exclude_paths(str(root), patterns, dockerfile=opts.dockerfile)):
        path = root / rel
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue  # folders come with their files; links and devices never enter a context
        total += info.st_size
        if total > opts.context_max_bytes:
            raise Refused(f"the build context (your files less .dockerignore) is over {opts.context_max_bytes // 1024} "
                          "KiB; leave data and virtual environments out with .dockerignore.")
        files[PurePosixPath(rel).as_posix()] = path.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return Context(files, buf.getvalue())


def _glob_segment(pattern: str, name: str) -> bool:
    """Go's filepath.Match for one path segment (what COPY sources use): * ? [..]."""
    regex = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            regex += "[^/]*"
        elif c == "?":
            regex += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                return False
            body = pattern[i + 1:end]
            regex += "[" + ("^" + re.escape(body[1:]) if body.startswith("^") else re.escape(body)) + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            regex += re.escape(pattern[i])
        else:
            regex += re.escape(c)
        i += 1
    return re.fullmatch(regex, name) is not None


def copied_files(source: str, files: dict[str, bytes]) -> list[str]:
    """Context files a COPY/ADD source brings into the image (a folder brings all below it)."""
    if "$" in source:  # a build-time variable: assume the worst
        return sorted(files)
    parts = [p for p in PurePosixPath("/" + source).parts[1:] if p not in (".", "")]
    out = []
    for name in files:
        segs = name.split("/")
        if len(segs) >= len(parts) and all(_glob_segment(p, s) for p, s in zip(parts, segs, strict=False)):
            out.append(name)
    return sorted(out)


# --------------------------------------------------------------------------------------
# Secrets: what counts as one (content never echoed back, only where it was found)
# --------------------------------------------------------------------------------------

SECRET_FILES = {
    ".env": "a .env file", "id_rsa": "an SSH private key", "id_dsa": "an SSH private key",
    "id_ecdsa": "an SSH private key", "id_ed25519": "an SSH private key", ".npmrc": "an npm token file",
    ".pypirc": "a PyPI credentials file", ".netrc": "a .netrc credentials file",
    ".git-credentials": "a git credentials file", "credentials": "a cloud credentials file",
    ".dockercfg": "a registry credentials file",
}
SAFE_ENV_SUFFIXES = (".example", ".sample", ".template", ".dist")
SECRET_PATTERNS = (
    (re.compile(rb"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(rb"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{20,}"), "an OpenAI-style API key"),
    (re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(rb"\bAIza[0-9A-Za-z_-]{35}"), "a Google API key"),
    (re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |)PRIVATE KEY-----"), "a private key"),
)
SECRET_NAME_WORDS = {"SECRET", "PASSWORD", "PASSWD", "TOKEN", "APIKEY", "CREDENTIALS"}
KEY_QUALIFIERS = {"API", "ACCESS", "PRIVATE", "SECRET", "SIGNING"}


def secret_file_kind(path: str) -> str | None:
    name = PurePosixPath(path).name
    if name == ".env" or (name.startswith(".env.") and not name.endswith(SAFE_ENV_SUFFIXES)):
        return "a .env file"
    if name == "credentials" and not path.endswith(".aws/credentials"):
        return None  # only the AWS CLI's file by that name
    return SECRET_FILES.get(name)


def secret_in(data: bytes) -> str | None:
    for pattern, kind in SECRET_PATTERNS:
        if pattern.search(data):
            return kind
    return None


def secret_env_name(name: str) -> bool:
    words = set(re.split(r"[_\W]+", name.upper()))
    return bool(words & SECRET_NAME_WORDS) or ("KEY" in words and bool(words & KEY_QUALIFIERS))


def secret_in_archive(data: bytes, *, members: int = 500, unpacked: int = 64 * MiB) -> str | None:
    """A secret file or key inside a (compressed) tar, reading a capped amount of it."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for _ in range(members):
                member = tar.next()
                if member is None or tar.offset > unpacked:
                    break
                kind = secret_file_kind(member.name)
                if not kind and member.isfile():
                    handle = tar.extractfile(member)
                    kind = secret_in(handle.read(MiB)) if handle else None
                if kind:
                    return kind
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return None  # not an archive (it was scanned as a plain file)
    return None


def scan_secrets(dockerfile: Dockerfile, context: Context, config: dict[str, Any], history: list[str],
                 base_env: set[str]) -> str:
    findings: list[str] = []
    seen: set[str] = set()
    for copy in dockerfile.copies:
        if copy.from_stage:
            continue  # an earlier stage's own COPY lines were scanned already
        for source in copy.sources:
            for name in copied_files(source, context.files):
                if name in seen:
                    continue
                data = context.files[name]
                kind = secret_file_kind(name) or secret_in(data)
                if not kind:  # an archive keeps what it packs, whether ADD unpacks it or COPY does not
                    inner = secret_in_archive(data)
                    kind = f"{inner} (inside the archive)" if inner else None
                if kind:
                    seen.add(name)
                    findings.append(f"{kind} in {name}, copied into the image by {copy.keyword} {source[:60]}")
    for entry in (config.get("Env") or []):
        if not isinstance(entry, str) or entry in base_env:
            continue
        name, _, value = entry.partition("=")
        kind = secret_in(value.encode())
        if kind or (value and secret_env_name(name)):
            findings.append(f"{kind or 'a secret'} in the image's environment ({name[:60]}), set by ENV or ARG")
    for key, value in sorted((config.get("Labels") or {}).items()):
        kind = secret_in(f"{key}={value}".encode())
        if kind and key != LABEL:
            findings.append(f"{kind} in the image's label {key[:60]}")
    for step in history:
        kind = secret_in(step.encode())
        if kind:
            _, nop, rest = step.partition("#(nop)")
            keyword = (rest.split() or ["?"])[0].upper()[:10] if nop else "RUN"
            findings.append(f"{kind} in the image's build history (a {keyword} line)")
    if not findings:
        return NONE
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    return findings[0] + more


# --------------------------------------------------------------------------------------
# The engine: build, run, probe, stop, remove
# --------------------------------------------------------------------------------------

NETWORK_ERRORS = ("Temporary failure in name resolution", "Temporary failure resolving", "Name or service not known",
                  "Network is unreachable", "Could not resolve host", "Failed to establish a new connection",
                  "No matching distribution found", "Could not find a version that satisfies",
                  "nodename nor servname", "getaddrinfo")
PIP_MISSING = ("No module named pip", "pip: not found", "pip3: not found")
STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
IMAGE_LINE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
RUNNING_LINE = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$")


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def client(timeout: float) -> Any:
    import docker

    return docker.from_env(timeout=int(timeout))


def engine_missing(opts: Options) -> str | None:
    """Why no image observation can be made here, or None when the engine is ready."""
    try:
        dc = client(30)
    except Exception:  # no SDK, or a malformed DOCKER_HOST
        dc = None
    try:
        if dc is None or not dc.ping():
            raise ConnectionError("no engine")
    except Exception:  # no socket, engine down: all mean "not here"
        return ("needs Docker: no Docker engine runs where this was graded, so the image was not built or run and "
                "this check is not scored here. It runs wherever the platform has Docker.")
    try:
        dc.api.inspect_image(opts.base_image)
    except Exception:
        return (f"needs Docker: the platform's base image {opts.base_image} is not in this Docker engine, so the "
                "image could not be built. This is not your fault.")
    finally:
        dc.close()
    return None


@dataclass
class Build:
    image: str | None = None  # the built image's id, when it built
    message: str = ""  # why it did not
    steps: list[str] = field(default_factory=list)  # " ---> <id>" images, in order (removed afterwards)
    containers: list[str] = field(default_factory=list)  # " ---> Running in <id>" (forcerm removes them too)
    step: str = ""  # "Step k/N : INSTRUCTION" being run
    output: list[str] = field(default_factory=list)  # this step's last lines
    error: str = ""
    done: bool = False


def _consume(stream: Iterator[dict[str, Any]], build: Build) -> None:
    try:
        for event in stream:
            if not isinstance(event, dict):
                continue
            if "error" in event:
                build.error = str(event.get("error", ""))
            aux = event.get("aux")
            if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                build.image = aux["ID"]
            for line in str(event.get("stream", "")).splitlines():
                if m := STEP.match(line):
                    build.step, build.output = line, []
                elif m := RUNNING_LINE.match(line):
                    build.containers.append(m[1])
                elif m := IMAGE_LINE.match(line):
                    build.steps.append(m[1])
                elif line.strip():
                    build.output = (build.output + [line[:300]])[-40:]
    except Exception as exc:  # the engine refused the Dockerfile, went away, or we gave up
        explanation = getattr(exc, "explanation", None)
        build.error = build.error or str(explanation or f"the build was interrupted ({type(exc).__name__})")
    finally:
        build.done = True


def _clean(text: str, limit: int = 240) -> str:
    text = re.sub(r"docker-builder\d+", "docker-builder", " ".join(text.split()))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _where(build: Build) -> str:
    m = STEP.match(build.step)
    return f"step {m[1]}/{m[2]} ({_clean(m[3], 80)})" if m else "the Dockerfile"


def _step_bytes(dc: Any, build: Build) -> int:
    """What the running step has written so far (a RUN that fills the engine's disk is stopped)."""
    if not build.containers:
        return 0
    try:
        found = dc.api.containers(all=True, size=True, filters={"id": build.containers[-1]})
        return int(found[0].get("SizeRw") or 0) if found else 0
    except Exception:
        return 0  # it finished meanwhile


def _failure(build: Build, timed_out: bool, timeout: float) -> str:
    m = STEP.match(build.step)
    where = _where(build)
    if timed_out:
        return f"{where} ran past the {timeout:g} s build limit and was stopped"
    output = "\n".join(build.output)
    if any(marker in output for marker in PIP_MISSING):
        return (f"{where} runs pip, but the base image has no pip and images are built with no network: the packages "
                "the brief lists are installed already, and anything else must be COPYed from your submission")
    if any(marker in output for marker in NETWORK_ERRORS):
        return (f"{where} tried to reach the internet, but images are built with no network: install nothing at build "
                "time (the base image already has the packages the brief lists) and COPY what you need from your "
                "submission")
    error = _clean(build.error) or "the engine reported no reason"
    return f"{where} failed: {error}" if m else f"the Dockerfile was refused: {error}"


def build_image(dc: Any, context: Context, opts: Options) -> Build:
    from docker.errors import APIError

    build = Build()
    try:
        stream = dc.api.build(
            fileobj=io.BytesIO(context.tar), custom_context=True, dockerfile=opts.dockerfile, rm=True, forcerm=True,
            nocache=True, pull=False, network_mode="none", decode=True, use_config_proxy=False,
            labels={LABEL: "container", OWNER: owner()}, timeout=int(opts.build_timeout) + 60,
            container_limits={"memory": 1024 * MiB, "memswap": 1024 * MiB},
        )
    except APIError as exc:
        if exc.is_server_error() and "dockerfile" not in str(exc.explanation or "").lower():
            raise
        build.message = f"the engine refused the build: {_clean(str(exc.explanation or exc))}"
        return build
    reader = threading.Thread(target=_consume, args=(stream, build), name="container-build", daemon=True)
    reader.start()
    deadline = time.monotonic() + opts.build_timeout
    timed_out = oversized = False
    while reader.is_alive() and not (timed_out or oversized):
        reader.join(min(2.0, max(0.0, deadline - time.monotonic())))
        timed_out = reader.is_alive() and time.monotonic() >= deadline
        oversized = reader.is_alive() and _step_bytes(dc, build) > opts.build_disk_mb * MiB
    if timed_out or oversized:  # stop the step that is running; the build then fails and the stream ends
        for cid in build.containers[-1:]:
            try:
                dc.api.kill(cid)
            except Exception:
                pass  # it finished meanwhile
        reader.join(30)
    if oversized:
        build.message = f"{_where(build)} wrote more than {opts.build_disk_mb} MiB and was stopped"
    elif timed_out or build.error or not build.image:
        build.message = _failure(build, timed_out, opts.build_timeout)
    if build.message:
        if build.image:
            build.steps.append(build.image)
        build.image = None
    return build


def remove_build(dc: Any, build: Build, keep: str) -> None:
    """Remove what one build made: its image and every step image (never `keep`, the base)."""
    images = [*build.steps, *([build.image] if build.image else [])]
    for image in reversed(images):
        if keep.removeprefix("sha256:").startswith(image.removeprefix("sha256:")[:12]):
            continue
        try:
            if dc.api.inspect_image(image).get("RepoTags"):
                continue  # a tagged image is never ours to remove
            dc.api.remove_image(image, force=True, noprune=False)
        except Exception:
            pass  # removed already with its child (untagged parents go with it)
    for cid in build.containers:
        try:
            dc.api.remove_container(cid, force=True, v=True)
        except Exception:
            pass  # forcerm removed it already


def sweep_orphans(dc: Any) -> int:
    """Remove containers and images a dead process on this host left behind (a killed worker)."""
    host = socket.gethostname()
    removed = 0
    for kind in ("containers", "images"):
        try:
            if kind == "containers":
                items = dc.api.containers(all=True, filters={"label": LABEL})
            else:
                items = dc.api.images(filters={"label": LABEL})
        except Exception:
            continue
        for item in items:
            labels = item.get("Labels") or {}
            owner_host, _, pid = str(labels.get(OWNER, "")).rpartition(":")
            if owner_host != host or not pid.isdigit() or _pid_alive(int(pid)):
                continue
            try:
                if kind == "containers":
                    dc.api.remove_container(item["Id"], force=True, v=True)
                else:
                    dc.api.remove_image(item["Id"], force=True)
                removed += 1
            except Exception:
                pass  # another sweeper got there first
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"


# The probe runs in a container of the platform's image that shares the learner's network
# and process namespaces: it polls the health paths over 127.0.0.1 and reads the uids in
# /proc. Fixed text; its arguments are our own options, never learner values.
PROBE = r"""
import http.client, json, os, sys, time
port, paths, wait = int(sys.argv[1]), sys.argv[2:4], float(sys.argv[4])
me = os.getpid()
def uids():
    found = {}
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != me:
            try:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            found[int(p)] = int(line.split()[2])
            except (OSError, ValueError, IndexError):
                pass
    return found
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        c.request("GET", path)
        status = c.getresponse().status
    except Exception:
        status = 0
    c.close()
    return status
deadline = time.monotonic() + wait
out = {}
for name, path in zip(("healthz", "readyz"), paths):
    while True:
        status = get(path)
        if status not in (0, 503) or time.monotonic() > deadline or not uids():
            break
        time.sleep(0.2)
    out[name] = status
out["uids"] = sorted(set(uids().values()))
print(json.dumps(out))
"""


def _security(opts: Options) -> dict[str, Any]:
    return dict(network_mode="none", read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges:true"],
                mem_limit=opts.memory_mb * MiB, memswap_limit=opts.memory_mb * MiB, pids_limit=64,
                nano_cpus=1_000_000_000, labels={LABEL: "container", OWNER: owner()}, ipc_mode="private",
                tmpfs={"/tmp": "size=16m,mode=1777,nosuid,nodev"}, detach=True)


def probe(dc: Any, target: Any, opts: Options) -> dict[str, Any]:
    import secrets

    settings = {**_security(opts), "network_mode": f"container:{target.id}", "pid_mode": f"container:{target.id}"}
    settings["mem_limit"] = settings["memswap_limit"] = 64 * MiB
    uid = 200_000 + secrets.randbelow(100_000)  # a uid no learner image can guess and share
    try:
        container = dc.containers.create(
            opts.base_image, ["python3", "-I", "-c", PROBE, str(opts.port), opts.healthz, opts.readyz,
                              str(opts.start_timeout)], user=f"{uid}:{uid}", **settings)
    except Exception:
        return {}  # the target died before the probe could join it
    try:
        container.start()
        try:
            container.wait(timeout=opts.start_timeout + 20)
        except Exception:
            pass  # a hostile service kept it talking; what it printed (nothing) is the answer
        raw = container.logs(stdout=True, stderr=False)[-64 * 1024:]
        doc = json.loads(raw.decode("utf-8", "replace").strip().splitlines()[-1]) if raw.strip() else {}
        return doc if isinstance(doc, dict) else {}
    except Exception:  # an engine hiccup or no output: nothing was observed
        return {}
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass  # already gone


def stop(dc: Any, container: Any, opts: Options) -> int | str:
    """SIGTERM, as Kubernetes sends it (not the image's STOPSIGNAL); the exit code, or what went wrong."""
    container.reload()
    state = container.attrs.get("State", {})
    if not state.get("Running"):
        return f"exited before SIGTERM (exit code {state.get('ExitCode')})"
    dc.api.kill(container.id, "SIGTERM")
    try:
        result = dc.api.wait(container.id, timeout=opts.stop_timeout)
        return int(result.get("StatusCode", -1))
    except Exception:  # still running at the deadline
        dc.api.kill(container.id, "SIGKILL")
        return f"still running {opts.stop_timeout:g} s after SIGTERM (killed)"


def run_observations(dc: Any, image: str, opts: Options) -> dict[str, Any]:
    from docker.errors import APIError

    reason = "the container did not start: its CMD or ENTRYPOINT could not be run"
    not_started = {"container_healthz": 0, "container_readyz": 0, "container_uid": Unavailable(f"Not observed: {reason}."),
                   "stop_exit_code": reason}
    try:
        container = dc.containers.create(image, environment={"PORT": str(opts.port)}, **_security(opts))
    except APIError as exc:
        if exc.is_server_error():
            raise
        return not_started  # e.g. an image with no CMD at all
    try:
        try:
            container.start()
        except APIError:
            return not_started
        seen = probe(dc, container, opts)
        uids = [u for u in seen.get("uids", []) if isinstance(u, int)]
        obs: dict[str, Any] = {
            "container_healthz": seen.get("healthz", 0) if isinstance(seen.get("healthz"), int) else 0,
            "container_readyz": seen.get("readyz", 0) if isinstance(seen.get("readyz"), int) else 0,
            "container_uid": min(uids) if uids else Unavailable(
                "Not observed: the container had stopped before its user could be seen; see the health checks."),
        }
        obs["stop_exit_code"] = stop(dc, container, opts)
        return obs
    finally:
        try:
            container.remove(force=True, v=True)  # with the anonymous volumes a VOLUME line makes
        except Exception:
            pass  # removed already


def image_observations(submission: Path, opts: Options) -> dict[str, Any]:
    reason = engine_missing(opts)
    if reason:
        return {name: Unavailable(reason) for name in IMAGE_OBSERVATIONS}
    dc = client(opts.build_timeout + 60)
    try:
        sweep_orphans(dc)
        return _inspect_image(dc, submission, opts)
    finally:
        dc.close()


def _inspect_image(dc: Any, submission: Path, opts: Options) -> dict[str, Any]:

    def not_built(message: str) -> dict[str, Any]:
        skipped = Unavailable("Not checked: the image did not build; see why under the image build check.")
        return {name: skipped for name in IMAGE_OBSERVATIONS} | {"image_build": message}

    path = submission / opts.dockerfile
    if not path.is_file() or path.is_symlink():
        return not_built(f"there is no {opts.dockerfile} in your submission")
    try:
        dockerfile = read_dockerfile(path.read_bytes()[:256 * 1024].decode("utf-8", "replace"), opts.base_image)
        context = read_context(submission, opts)
    except Refused as exc:
        return not_built(str(exc).rstrip("."))
    base = dc.api.inspect_image(opts.base_image)
    build = build_image(dc, context, opts)
    try:
        if not build.image:
            return not_built(build.message)
        image = dc.api.inspect_image(build.image)
        history = [str(h.get("CreatedBy", "")) for h in dc.api.history(build.image)]
        ours = history[:max(0, len(history) - len(dc.api.history(opts.base_image)))]
        added = max(0, int(image.get("Size", 0)) - int(base.get("Size", 0)))
        obs: dict[str, Any] = {
            "image_build": "ok",
            "image_added_mb": math.ceil(added * 10 / MiB) / 10,
            "baked_secrets": scan_secrets(dockerfile, context, image.get("Config") or {}, ours,
                                          set((base.get("Config") or {}).get("Env") or [])),
        }
        obs.update(run_observations(dc, build.image, opts))
        return obs
    finally:
        remove_build(dc, build, keep=str(base.get("Id", "")))


# --------------------------------------------------------------------------------------
# Kubernetes manifests, as data
# --------------------------------------------------------------------------------------

MAX_MANIFEST_FILES = 20
MAX_MANIFEST_BYTES = 256 * 1024
MAX_DOCUMENTS = 50


@dataclass(frozen=True)
class Doc:
    where: str  # "k8s/app.yaml: Deployment web"
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))


def dig(value: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _summary(problems: list[str]) -> str:
    if not problems:
        return NONE
    return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


def load_manifests(folder: Path, opts: Options) -> tuple[list[Doc], list[str]]:
    problems: list[str] = []
    docs: list[Doc] = []
    if not folder.is_dir():
        return docs, [f"there is no {opts.manifests}/ folder of Kubernetes manifests"]
    inside = folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                   and not p.is_symlink() and p.resolve().is_relative_to(inside))
    if len(files) > MAX_MANIFEST_FILES:
        problems.append(f"{opts.manifests}/ has {len(files)} YAML files; the limit is {MAX_MANIFEST_FILES}")
        files = files[:MAX_MANIFEST_FILES]
    for path in files:
        rel = f"{opts.manifests}/{path.relative_to(folder).as_posix()}"
        data = path.read_bytes()
        if len(data) > MAX_MANIFEST_BYTES:
            problems.append(f"{rel} is over {MAX_MANIFEST_BYTES // 1024} KiB")
            continue
        try:
            text = data.decode("utf-8")
            if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
                problems.append(f"{rel}: YAML anchors and aliases (*name) are not accepted here; write values out")
                continue
            bodies = list(yaml.safe_load_all(text))
        except UnicodeDecodeError:
            problems.append(f"{rel} is not UTF-8 text")
            continue
        except (yaml.YAMLError, RecursionError) as exc:
            problems.append(f"{rel} is not valid YAML: {_clean(str(exc), 200)}")
            continue
        for number, body in enumerate(bodies, 1):
            if body is None:
                continue
            if len(docs) >= MAX_DOCUMENTS:
                problems.append(f"more than {MAX_DOCUMENTS} documents; the rest were not read")
                break
            if not isinstance(body, dict) or not isinstance(body.get("kind"), str) \
                    or not isinstance(body.get("apiVersion"), str) or not isinstance(dig(body, "metadata", "name"), str):
                problems.append(f"{rel}, document {number}: needs apiVersion, kind and metadata.name")
                continue
            docs.append(Doc(f"{rel}: {body['kind'][:40]} {body['metadata']['name'][:60]}", body))
    return docs, problems


def schema_problems(docs: list[Doc], version: str) -> list[str]:
    import kubernetes_validate as kv

    problems = []
    for doc in docs:
        try:
            kv.validate(doc.body, version, strict=True)
        except kv.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path) or "(top level)"
            problems.append(f"{doc.where}: {path}: {_clean(exc.message, 200)}")
        except kv.SchemaNotFoundError:
            problems.append(f"{doc.where}: Kubernetes {version} has no kind {doc.kind[:40]} in "
                            f"{str(doc.body.get('apiVersion'))[:40]}")
        except Exception as exc:  # a shape the validator itself trips over
            problems.append(f"{doc.where}: could not be validated ({type(exc).__name__})")
    return problems


def selects(selector: Any, labels: dict[str, Any]) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod's labels."""
    if not isinstance(selector, dict):
        return False
    match = selector.get("matchLabels") or {}
    if not isinstance(match, dict) or any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in listed(selector.get("matchExpressions")):
        key, op, values = dig(expr, "key"), dig(expr, "operator"), listed(dig(expr, "values"))
        if not isinstance(key, str):
            return False
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return bool(match or selector.get("matchExpressions"))


QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
SUFFIX = {"": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
          **{s: 1024.0 ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))}}


def quantity(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    m = QUANTITY.match(str(value))
    if not m:
        return None
    return float(m[1]) * 10.0 ** int(m[2] or 0) * SUFFIX[m[3] or ""]


def scaled(value: Any, total: int) -> int | None:
    """An int-or-percent (as maxUnavailable and minAvailable take) of `total`, rounded up."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,3}%", value):
        return math.ceil(total * int(value[:-1]) / 100)
    return None


def container_ports(container: dict[str, Any]) -> dict[str, int]:
    ports = {}
    for port in listed(dig(container, "ports")):
        number = dig(port, "containerPort")
        if isinstance(number, int):
            ports[str(number)] = number
            if isinstance(dig(port, "name"), str):
                ports[port["name"]] = number
    return ports


def probe_problems(name: str, container: dict[str, Any], opts: Options) -> list[str]:
    problems = []
    ports = container_ports(container)
    if opts.port not in ports.values():
        problems.append(f"container {name} does not declare containerPort {opts.port}")
    for probe_key, path, why in (
            ("readinessProbe", opts.readyz, "so Services send traffic only to pods that are ready"),
            ("livenessProbe", opts.healthz, "so a hung process is restarted, and a draining one is not")):
        probe_def = dig(container, probe_key)
        if not isinstance(probe_def, dict):
            problems.append(f"container {name} has no {probe_key} ({why})")
            continue
        get = dig(probe_def, "httpGet")
        if not isinstance(get, dict):
            problems.append(f"container {name}: {probe_key} should be an httpGet of {path}")
        elif dig(get, "path") != path:
            problems.append(f"container {name}: {probe_key} checks {str(dig(get, 'path'))[:60]}, not {path} ({why})")
        elif ports.get(str(dig(get, "port"))) != opts.port:
            problems.append(f"container {name}: {probe_key} port {str(dig(get, 'port'))[:40]} is not the "
                            f"service's port {opts.port}")
    return problems


def resource_problems(name: str, container: dict[str, Any]) -> list[str]:
    problems = []
    for resource in ("cpu", "memory"):
        request = quantity(dig(container, "resources", "requests", resource))
        limit = quantity(dig(container, "resources", "limits", resource))
        if request is None:
            problems.append(f"container {name} has no {resource} request (the scheduler and the HPA need it)")
        if limit is None:
            problems.append(f"container {name} has no {resource} limit")
        if request is not None and limit is not None and request > limit:
            problems.append(f"container {name}: the {resource} request is above its limit")
    return problems


def security_problems(name: str, container: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    problems = []
    ctx = mapping(dig(container, "securityContext"))
    pod_ctx = mapping(dig(pod, "securityContext"))
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if non_root is not True:
        problems.append(f"container {name}: runAsNonRoot is not true")
    if user == 0:
        problems.append(f"container {name}: runAsUser is 0 (root)")
    if dig(ctx, "readOnlyRootFilesystem") is not True:
        problems.append(f"container {name}: readOnlyRootFilesystem is not true")
    if dig(ctx, "allowPrivilegeEscalation") is not False:
        problems.append(f"container {name}: allowPrivilegeEscalation is not false")
    if dig(ctx, "privileged") is True:
        problems.append(f"container {name} is privileged")
    drop = dig(ctx, "capabilities", "drop")
    if not isinstance(drop, list) or "ALL" not in drop:
        problems.append(f"container {name}: capabilities.drop does not list ALL")
    if dig(ctx, "capabilities", "add"):
        problems.append(f"container {name}: capabilities.add gives capabilities back")
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if dig(pod, host) is True:
            problems.append(f"the pod uses {host}")
    return problems


def manifest_observations(folder: Path, opts: Options) -> dict[str, str]:
    docs, errors = load_manifests(folder, opts)
    return manifest_rules(docs, errors + schema_problems(docs, opts.kubernetes_version), opts)


def manifest_rules(docs: list[Doc], errors: list[str], opts: Options) -> dict[str, str]:
    """Each observation: "none", or the first problem the rules find in the documents."""
    deployments = [d for d in docs if d.kind == "Deployment"]
    if len(deployments) != 1:
        missing = f"found {len(deployments)} Deployments in {opts.manifests}/, expected exactly one"
        errors.append(missing)
        return {"manifest_errors": _summary(errors), **{name: missing for name in (
            "manifest_probes", "manifest_resources", "manifest_rollout", "manifest_pdb", "manifest_hpa",
            "manifest_security")}}
    deployment = deployments[0]
    name = dig(deployment.body, "metadata", "name")
    pod = mapping(dig(deployment.body, "spec", "template", "spec"))
    labels = dig(deployment.body, "spec", "template", "metadata", "labels")
    labels = labels if isinstance(labels, dict) else {}
    containers = [c for c in listed(pod.get("containers")) if isinstance(c, dict)]
    if not containers:
        errors.append(f"{deployment.where} has no containers")
    named = [(str(c.get("name", "?"))[:40], c) for c in containers]

    services = [d for d in docs if d.kind == "Service" and selects({"matchLabels": dig(d.body, "spec", "selector")},
                                                                        labels)]
    if not services:
        shown = ", ".join(f"{k}={v}" for k, v in labels.items() if isinstance(v, str))
        errors.append(f"no Service selects the pods of {deployment.where} (labels {shown[:80]})")
    ports = {k: v for _, c in named for k, v in container_ports(c).items()}
    for service in services:
        for port in listed(dig(service.body, "spec", "ports")):
            target = dig(port, "targetPort") or dig(port, "port")
            if ports.get(str(target)) != opts.port:
                errors.append(f"{service.where}: targetPort {str(target)[:40]} is not the container's port {opts.port}")

    hpas = [d for d in docs if d.kind == "HorizontalPodAutoscaler" and dig(d.body, "spec", "scaleTargetRef", "kind")
            == "Deployment" and dig(d.body, "spec", "scaleTargetRef", "name") == name]
    hpa_problems: list[str] = []
    if not hpas:
        hpa_problems.append(f"no HorizontalPodAutoscaler scales Deployment {str(name)[:60]}")
    for hpa in hpas:
        spec = mapping(dig(hpa.body, "spec"))
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if hpa.body.get("apiVersion") != "autoscaling/v2":
            hpa_problems.append(f"{hpa.where}: use apiVersion autoscaling/v2")
        if not isinstance(low, int) or low < 2:
            hpa_problems.append(f"{hpa.where}: minReplicas is {low}; keep at least 2 pods so one can go at a time")
        if not isinstance(high, int) or not isinstance(low, int) or high <= low:
            hpa_problems.append(f"{hpa.where}: maxReplicas must be above minReplicas, or it never scales")
        metrics = dig(spec, "metrics")
        if not isinstance(metrics, list) or not any(dig(m, "type") == "Resource" and dig(m, "resource", "name") == "cpu"
                   and dig(m, "resource", "target", "type") == "Utilization" for m in metrics):
            hpa_problems.append(f"{hpa.where}: scale on CPU utilization (a Resource metric for cpu, target type "
                                "Utilization)")

    replicas = dig(deployment.body, "spec", "replicas")
    hpa_min = dig(hpas[0].body, "spec", "minReplicas") if hpas else None
    pods = replicas if isinstance(replicas, int) else (hpa_min if isinstance(hpa_min, int) else 1)
    rollout: list[str] = []
    if pods < 2:
        rollout.append(f"{deployment.where} runs {pods} pod(s); run at least 2 (spec.replicas, or the HPA's "
                       "minReplicas), or any rollout or node drain is an outage")
    strategy = mapping(dig(deployment.body, "spec", "strategy"))
    if dig(strategy, "type") not in (None, "RollingUpdate"):
        rollout.append(f"{deployment.where}: strategy {str(dig(strategy, 'type'))[:30]} stops every pod first; "
                       "use RollingUpdate")
    unavailable = dig(strategy, "rollingUpdate", "maxUnavailable")
    surge = dig(strategy, "rollingUpdate", "maxSurge")
    if unavailable is None:
        rollout.append(f"{deployment.where}: rollingUpdate.maxUnavailable is not set (the default, 25%, takes pods "
                       "out of service during a rollout); set it to 0")
    elif scaled(unavailable, max(pods, 1)) != 0:
        rollout.append(f"{deployment.where}: rollingUpdate.maxUnavailable is {str(unavailable)[:20]}, not 0")
    if surge is not None and scaled(surge, max(pods, 1)) in (0, None):
        rollout.append(f"{deployment.where}: rollingUpdate.maxSurge is {str(surge)[:20]}; with maxUnavailable 0 it "
                       "must be at least 1, or the rollout cannot start")

    pdbs = [d for d in docs if d.kind == "PodDisruptionBudget" and selects(dig(d.body, "spec", "selector"), labels)]
    pdb_problems: list[str] = []
    if not pdbs:
        pdb_problems.append(f"no PodDisruptionBudget selects the pods of {deployment.where}")
    for pdb in pdbs:
        spec = mapping(dig(pdb.body, "spec"))
        low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
        if (low is None) == (high is None):
            pdb_problems.append(f"{pdb.where}: set exactly one of minAvailable and maxUnavailable")
            continue
        value = scaled(low if low is not None else high, pods)
        if value is None:
            pdb_problems.append(f"{pdb.where}: {str(low if low is not None else high)[:20]} is not a count or a percentage")
            continue
        allowed = pods - value if low is not None else value
        if allowed < 1:
            pdb_problems.append(f"{pdb.where} allows no voluntary eviction of {pods} pods, so node drains hang")
        elif allowed > pods - 1:
            pdb_problems.append(f"{pdb.where} lets all {pods} pods be evicted at once; keep at least one running")

    return {
        "manifest_errors": _summary(errors),
        "manifest_probes": _summary([p for n, c in named for p in probe_problems(n, c, opts)]),
        "manifest_resources": _summary([p for n, c in named for p in resource_problems(n, c)]),
        "manifest_rollout": _summary(rollout),
        "manifest_pdb": _summary(pdb_problems),
        "manifest_hpa": _summary(hpa_problems),
        "manifest_security": _summary([p for n, c in named for p in security_problems(n, c, pod)]),
    }
