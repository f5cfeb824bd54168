"""The `container` host inspector (graders/inspectors/container.py).

- Dockerfile, build-context and secret rules, and every manifest rule, as pure functions;
- the no-Docker path: every image observation is Unavailable("needs Docker: …"), and the
  checks reading them show that reason instead of passing;
- with a real engine (marker `docker`; REQUIRE_DOCKER=1 turns a missing engine into a
  failure): a good image, one that needs the internet, one that runs as root, a secret
  in a layer, one that ignores SIGTERM, a build past its time limit, a bloated one and
  one that cannot start — and after each, nothing the inspector made is left behind.
"""

from __future__ import annotations

import copy
import io
import shutil
import socket
import tarfile
import textwrap
from pathlib import Path

import pytest
import yaml

from graders.checks import evaluate
from graders.inspectors import INSPECTORS, Unavailable
from graders.inspectors import container as ci
from graders.labspec import CheckSpec

REPO = Path(__file__).resolve().parents[2]
SOLUTION = REPO / "labs" / "containers" / "solution"
BASE = "skillforge/lab-python"
OPTS = ci.Options()


# -- Dockerfile as data -------------------------------------------------------------------

def test_registered_and_options_checked():
    assert INSPECTORS["container"] == "graders.inspectors.container:inspect"
    assert ci.Options.from_mapping({"port": 9000, "stop_timeout": 5}).stop_timeout == 5.0
    with pytest.raises(ValueError, match="unknown option"):
        ci.Options.from_mapping({"prot": 1})
    with pytest.raises(ValueError, match="must be int"):
        ci.Options.from_mapping({"port": "8080"})


def test_logical_lines_join_continuations_and_skip_comments():
    text = "# escape=`\nFROM x\nRUN a `\n  # inside\n  b\n\n# done\nCMD [\"c\"]\n"
    assert list(ci.logical_lines(text)) == [(2, "FROM x"), (3, "RUN a   b"), (8, 'CMD ["c"]')]


@pytest.mark.parametrize("dockerfile, message", [
    ("FROM python:3.11-slim\n", "FROM python:3.11-slim: images here can only be built FROM"),
    ("ARG B=skillforge/lab-python\nFROM $B\n", "name the base image literally"),
    (f"FROM {BASE}\nADD https://example.com/m.bin /m\n", "ADD of a URL"),
    (f"FROM {BASE}\nCOPY --from=busybox /bin/sh /sh\n", "copy only from an earlier stage"),
    ("# nothing\n", "no FROM line"),
])
def test_dockerfiles_needing_a_registry_or_the_internet_are_refused(dockerfile, message):
    with pytest.raises(ci.Refused, match=message):
        ci.read_dockerfile(dockerfile, BASE)


def test_multi_stage_builds_from_the_base_are_read():
    plan = ci.read_dockerfile(f"from {BASE}:latest AS build\nCOPY a.py /a.py\nFROM build\n"
                              "COPY --from=build /a.py /b.py\nCOPY [\"b c\", \"/d/\"]\n", BASE)
    assert [(c.keyword, c.sources, c.from_stage) for c in plan.copies] == [
        ("COPY", ("a.py",), False), ("COPY", ("/a.py",), True), ("COPY", ("b c",), False)]


def test_copy_sources_resolve_like_the_builder():
    files = {n: b"" for n in ("server.py", "model.json", ".env", "app/x.py", "app/sub/y.py", "k8s/d.yaml")}
    assert ci.copied_files(".", files) == sorted(files)
    assert ci.copied_files("./", files) == sorted(files)
    assert ci.copied_files("*.py", files) == ["server.py"]
    assert ci.copied_files("app", files) == ["app/sub/y.py", "app/x.py"]
    assert ci.copied_files("app/*.py", files) == ["app/x.py"]
    assert ci.copied_files("/model.json", files) == ["model.json"]
    assert ci.copied_files(".e[n]v", files) == [".env"]
    assert ci.copied_files("$SRC", files) == sorted(files)


def test_secret_rules():
    assert ci.secret_file_kind("app/.env") == "a .env file"
    assert ci.secret_file_kind(".env.production") == "a .env file"
    assert ci.secret_file_kind(".env.example") is None
    assert ci.secret_file_kind("home/.ssh/id_ed25519") == "an SSH private key"
    assert ci.secret_file_kind("home/.aws/credentials") == "a cloud credentials file"
    assert ci.secret_file_kind("docs/credentials") is None
    assert ci.secret_in(b"key = 'sk-proj-" + b"a1" * 15 + b"'") == "an OpenAI-style API key"
    assert ci.secret_in(b"AKIAIOSFODNN7EXAMPLE") == "an AWS access key id"
    assert ci.secret_in(b"-----BEGIN OPENSSH PRIVATE KEY-----") == "a private key"
    assert ci.secret_in(b"sk-your-key-here and a tokenizer") is None
    assert ci.secret_env_name("OPENAI_API_KEY") and ci.secret_env_name("db-password")
    assert not ci.secret_env_name("TOKENIZER_PATH") and not ci.secret_env_name("KEYBOARD")


def test_secrets_are_found_where_the_build_put_them():
    context = ci.Context({"server.py": b"print()", ".env": b"X=1", "conf.py": b"K='AKIAIOSFODNN7EXAMPLE'"}, b"")
    precise = ci.read_dockerfile(f"FROM {BASE}\nCOPY server.py /app/\n", BASE)
    everything = ci.read_dockerfile(f"FROM {BASE}\nCOPY . /app/\n", BASE)
    assert ci.scan_secrets(precise, context, {}, [], set()) == ci.NONE
    found = ci.scan_secrets(everything, context, {}, [], set())
    assert found == "a .env file in .env, copied into the image by COPY . (and 1 more)"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        key = b"-----BEGIN RSA PRIVATE KEY-----\n"
        info = tarfile.TarInfo("deploy/key.txt")
        info.size = len(key)
        tar.addfile(info, io.BytesIO(key))
    context = ci.Context({"vendor.tar.gz": archive.getvalue()}, b"")
    for keyword in ("COPY", "ADD"):  # packed or unpacked, the key is in the layer
        plan = ci.read_dockerfile(f"FROM {BASE}\n{keyword} vendor.tar.gz /v/\n", BASE)
        assert ci.scan_secrets(plan, context, {}, [], set()) == \
            f"a private key (inside the archive) in vendor.tar.gz, copied into the image by {keyword} vendor.tar.gz"
    assert ci.secret_in_archive(b"not a tar") is None
    config = {"Env": ["PATH=/usr/bin", "API_TOKEN=abc123"], "Labels": {"x": "ghp_" + "a" * 36}}
    found = ci.scan_secrets(precise, context, config, ["/bin/sh -c echo sk-live-" + "b" * 24 + " > k"], {"PATH=/usr/bin"})
    assert found.startswith("a secret in the image's environment (API_TOKEN)") and found.endswith("(and 2 more)")


# -- manifests as data ------------------------------------------------------------------------

def solution_docs() -> dict[str, list[dict]]:
    return {p.name: list(yaml.safe_load_all(p.read_text())) for p in sorted((SOLUTION / "k8s").glob("*.yaml"))}


def observe(tmp_path: Path, docs: dict[str, list[dict]] | None = None, raw: dict[str, str] | None = None) -> dict:
    folder = tmp_path / "k8s"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for name, content in (docs or {}).items():
        (folder / name).write_text(yaml.safe_dump_all(content))
    for name, text in (raw or {}).items():
        (folder / name).write_text(text)
    return ci.manifest_observations(folder, OPTS)


def deployment(docs: dict[str, list[dict]]) -> dict:
    return docs["deployment.yaml"][0]


def container(docs: dict[str, list[dict]]) -> dict:
    return deployment(docs)["spec"]["template"]["spec"]["containers"][0]


def test_the_reference_manifests_pass(tmp_path):
    assert set(observe(tmp_path, solution_docs()).values()) == {ci.NONE}


def test_bad_yaml_and_aliases_are_reported_with_the_file(tmp_path):
    obs = observe(tmp_path, raw={"a.yaml": "kind: [unclosed\n"})
    assert obs["manifest_errors"].startswith("k8s/a.yaml is not valid YAML: while parsing a flow sequence")
    assert obs["manifest_probes"] == "found 0 Deployments in k8s/, expected exactly one"
    obs = observe(tmp_path, raw={"a.yaml": "x: &a [1]\ny: *a\n"})
    assert "anchors and aliases" in obs["manifest_errors"]
    assert ci.manifest_observations(tmp_path / "nothing", OPTS)["manifest_errors"] == \
        "there is no k8s/ folder of Kubernetes manifests (and 1 more)"


def test_schema_errors_name_the_document_and_field(tmp_path):
    docs = solution_docs()
    container(docs)["livenessProbes"] = container(docs).pop("livenessProbe")
    docs["service.yaml"][0]["kind"] = "Servce"
    obs = observe(tmp_path, docs)
    assert obs["manifest_errors"].startswith("k8s/deployment.yaml: Deployment ticket-router: "
                                             "spec.template.spec.containers.0: Additional properties")
    assert obs["manifest_errors"].endswith("(and 2 more)")  # the unknown kind, and so no Service
    docs["deployment.yaml"] = []
    assert observe(tmp_path, docs)["manifest_errors"].startswith("k8s/service.yaml: Servce ticket-router: Kubernetes "
                                                                 "1.30 has no kind Servce in v1")
    assert obs["manifest_probes"] == "container server has no livenessProbe (so a hung process is restarted, " \
                                     "and a draining one is not)"


def test_probe_resource_and_security_rules(tmp_path):
    docs = solution_docs()
    c = container(docs)
    c["livenessProbe"]["httpGet"]["path"] = "/readyz"
    c["resources"]["requests"]["memory"] = "1Gi"
    del c["resources"]["limits"]["cpu"]
    c["securityContext"]["capabilities"] = {"drop": ["NET_RAW"], "add": ["SYS_ADMIN"]}
    deployment(docs)["spec"]["template"]["spec"]["hostPID"] = True
    obs = observe(tmp_path, docs)
    assert obs["manifest_probes"].startswith("container server: livenessProbe checks /readyz, not /healthz")
    assert obs["manifest_resources"] == "container server has no cpu limit (and 1 more)"
    assert obs["manifest_security"] == "container server: capabilities.drop does not list ALL (and 2 more)"


def test_rollout_pdb_and_hpa_rules(tmp_path):
    docs = solution_docs()
    spec = deployment(docs)["spec"]
    del spec["strategy"]
    docs["hpa.yaml"][0]["spec"]["minReplicas"] = 1
    docs["pdb.yaml"][0]["spec"] = {"minAvailable": 1, "selector": {"matchExpressions": [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": ["ticket-router"]}]}}
    obs = observe(tmp_path, docs)
    assert obs["manifest_rollout"].startswith("k8s/deployment.yaml: Deployment ticket-router runs 1 pod(s)")
    assert obs["manifest_rollout"].endswith("(and 1 more)")
    assert obs["manifest_pdb"].endswith("allows no voluntary eviction of 1 pods, so node drains hang")
    assert obs["manifest_hpa"].endswith("minReplicas is 1; keep at least 2 pods so one can go at a time")

    docs = solution_docs()
    docs["hpa.yaml"][0]["spec"]["scaleTargetRef"]["name"] = "other"
    docs["pdb.yaml"][0]["spec"] = {"maxUnavailable": "100%", "selector": {"matchLabels": {
        "app.kubernetes.io/name": "ticket-router"}}}
    deployment(docs)["spec"]["replicas"] = 3
    deployment(docs)["spec"]["strategy"]["rollingUpdate"] = {"maxUnavailable": "25%", "maxSurge": 0}
    obs = observe(tmp_path, docs)
    assert obs["manifest_hpa"] == "no HorizontalPodAutoscaler scales Deployment ticket-router"
    assert obs["manifest_pdb"].endswith("lets all 3 pods be evicted at once; keep at least one running")
    assert obs["manifest_rollout"] == ("k8s/deployment.yaml: Deployment ticket-router: rollingUpdate.maxUnavailable "
                                       "is 25%, not 0 (and 1 more)")


def test_quantities():
    assert ci.quantity("100m") == pytest.approx(0.1)
    assert ci.quantity("128Mi") == 128 * 2**20
    assert ci.quantity("1e3") == 1000 and ci.quantity(2) == 2.0
    assert ci.quantity("lots") is None and ci.quantity(True) is None


# -- no Docker engine here ------------------------------------------------------------------------

def check(observe_name: str) -> CheckSpec:
    return CheckSpec(id=observe_name, name=observe_name, weight=1, kind="compare", observe=observe_name, op="==",
                     threshold=0)


def test_without_docker_every_image_observation_says_needs_docker(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    obs = ci.image_observations(SOLUTION, OPTS)
    assert set(obs) == set(ci.IMAGE_OBSERVATIONS)
    assert all(isinstance(v, Unavailable) and v.reason.startswith("needs Docker: no Docker engine") for v in obs.values())
    result = evaluate(check("stop_exit_code"), obs, tmp_path)
    assert (result.status, result.points, result.message) == ("error", 0.0, obs["stop_exit_code"].reason)
    # the manifests are data and are still inspected
    lab = type("Lab", (), {"inspector_options": {}})()
    full = ci.inspect(SOLUTION, lab)  # type: ignore[arg-type]
    assert full["manifest_pdb"] == ci.NONE and isinstance(full["image_build"], Unavailable)


# -- with a real engine -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(docker_runner):
    """The docker_runner fixture skips (or, with REQUIRE_DOCKER=1, fails) without an engine."""
    return ci.client(120)


@pytest.fixture
def inspect_image(engine, monkeypatch):
    """image_observations over a folder made from files; afterwards, nothing of ours is left."""
    made: list[ci.Build] = []
    real_build = ci.build_image

    def recording_build(dc, context, opts):
        build = real_build(dc, context, opts)
        made.append(build)
        return build

    monkeypatch.setattr(ci, "build_image", recording_build)

    def run(tmp: Path, files: dict[str, str], **options) -> dict:
        tmp.mkdir(parents=True, exist_ok=True)
        for name in ("server.py", "model.py", "model.json"):
            shutil.copy2(SOLUTION / name, tmp / name)
        for name, text in files.items():
            (tmp / name).write_text(textwrap.dedent(text))
        return ci.image_observations(tmp, ci.Options(**{"stop_timeout": 4.0, "start_timeout": 10.0, **options}))

    yield run
    me = f"{ci.OWNER}={socket.gethostname()}:{__import__('os').getpid()}"
    assert engine.api.containers(all=True, filters={"label": [ci.LABEL, me]}) == []
    assert engine.api.images(filters={"label": [ci.LABEL, me]}) == []
    for build in made:
        for image in [*build.steps, *([build.image] if build.image else [])]:
            if image.startswith(engine.api.inspect_image(BASE)["Id"].removeprefix("sha256:")[:12]):
                continue
            with pytest.raises(Exception, match="No such image|404"):
                engine.api.inspect_image(image)
        for cid in build.containers:
            with pytest.raises(Exception, match="No such container|404"):
                engine.api.inspect_container(cid)


GOOD = f"""\
    FROM {BASE}
    RUN useradd --uid 10001 --no-create-home --no-log-init app
    WORKDIR /app
    COPY server.py model.py model.json ./
    USER 10001:10001
    CMD ["python3", "server.py"]
"""


@pytest.mark.docker
@pytest.mark.slow
def test_a_good_image(inspect_image, tmp_path):
    obs = inspect_image(tmp_path, {"Dockerfile": GOOD, ".env": "OPENAI_API_KEY=sk-proj-" + "x" * 30})
    assert obs == {"image_build": "ok", "image_added_mb": 0.1, "baked_secrets": ci.NONE, "container_healthz": 200,
                   "container_readyz": 200, "container_uid": 10001, "stop_exit_code": 0}


@pytest.mark.docker
@pytest.mark.slow
def test_an_image_that_needs_the_internet(inspect_image, tmp_path):
    net = inspect_image(tmp_path / "net", {"Dockerfile": f"""\
        FROM {BASE}
        RUN python3 -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/')"
        CMD ["python3", "server.py"]
    """})
    assert net["image_build"].startswith("step 2/5 (RUN python3 -c \"import urllib.request; urllib.request.urlopen(")
    assert "tried to reach the internet, but images are built with no network" in net["image_build"]
    assert net["container_uid"] == Unavailable("Not checked: the image did not build; see why under the image build "
                                               "check.")
    pip = inspect_image(tmp_path / "pip", {"Dockerfile": f"FROM {BASE}\nRUN pip install flask\n"})
    assert pip["image_build"].startswith("step 2/4 (RUN pip install flask) runs pip, but the base image has no pip")
    other = inspect_image(tmp_path / "from", {"Dockerfile": "FROM python:3.11-slim\nRUN true\n"})
    assert other["image_build"].startswith("line 1: FROM python:3.11-slim: images here can only be built FROM")
    typo = inspect_image(tmp_path / "typo", {"Dockerfile": f"FROM {BASE}\nRUNN true\n"})
    assert typo["image_build"] == "the Dockerfile was refused: dockerfile parse error line 2: unknown instruction: RUNN"


@pytest.mark.docker
@pytest.mark.slow
def test_root_user_secret_in_a_layer_and_ignored_sigterm(inspect_image, tmp_path):
    obs = inspect_image(tmp_path, {".env": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n", "Dockerfile": f"""\
        FROM {BASE}
        WORKDIR /app
        COPY . ./
        # "removed", but still in the layer above
        RUN rm -f .env
        ENV SERVICE_TOKEN=hunter2hunter2
        CMD python3 server.py
    """})
    assert obs["container_uid"] == 0
    assert obs["baked_secrets"] == "a .env file in .env, copied into the image by COPY . (and 1 more)"
    assert obs["stop_exit_code"] == "still running 4 s after SIGTERM (killed)"
    assert (obs["container_healthz"], obs["container_readyz"]) == (200, 200)


@pytest.mark.docker
@pytest.mark.slow
def test_build_time_limit_bloat_and_a_container_that_cannot_start(inspect_image, tmp_path):
    slow = inspect_image(tmp_path / "slow", {"Dockerfile": f"FROM {BASE}\nRUN sleep 60\n"}, build_timeout=3.0)
    assert slow["image_build"] == "step 2/4 (RUN sleep 60) ran past the 3 s build limit and was stopped"
    disk = inspect_image(tmp_path / "disk", {"Dockerfile": f"FROM {BASE}\nRUN head -c 80000000 /dev/zero > /f; sleep 60\n"},
                         build_disk_mb=50)
    assert disk["image_build"] == "step 2/4 (RUN head -c 80000000 /dev/zero > /f; sleep 60) wrote more than 50 MiB and " \
                                  "was stopped"
    big = inspect_image(tmp_path / "big", {"Dockerfile": f"""\
        FROM {BASE}
        RUN head -c 25000000 /dev/urandom > /blob && useradd -u 10001 app
        USER 10001
        ENTRYPOINT ["/no/such/program"]
    """})
    assert big["image_added_mb"] > 20
    assert big["container_healthz"] == 0
    assert big["stop_exit_code"] == "the container did not start: its CMD or ENTRYPOINT could not be run"
    assert isinstance(big["container_uid"], Unavailable)


@pytest.mark.docker
@pytest.mark.slow
def test_a_service_that_never_answers(inspect_image, engine, tmp_path):
    volumes = {v["Name"] for v in engine.api.volumes().get("Volumes") or []}
    obs = inspect_image(tmp_path, {"Dockerfile": f"FROM {BASE}\nVOLUME /data\nUSER 4242\nCMD [\"sleep\", \"600\"]\n"},
                        start_timeout=2.0)
    assert (obs["container_healthz"], obs["container_readyz"], obs["container_uid"]) == (0, 0, 4242)
    assert obs["stop_exit_code"] == "still running 4 s after SIGTERM (killed)"  # sleep as PID 1 ignores SIGTERM
    assert {v["Name"] for v in engine.api.volumes().get("Volumes") or []} <= volumes  # VOLUME's went with it


@pytest.mark.docker
def test_sweep_removes_what_a_dead_worker_left(engine):
    dead = 2**22 + 12345  # above pid_max: never alive
    cid = engine.api.create_container(BASE, ["true"], labels={ci.LABEL: "container",
                                                               ci.OWNER: f"{socket.gethostname()}:{dead}"})["Id"]
    try:
        assert ci.sweep_orphans(engine) >= 1
        with pytest.raises(Exception, match="No such container|404"):
            engine.api.inspect_container(cid)
    finally:
        try:
            engine.api.remove_container(cid, force=True)
        except Exception:
            pass


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def test_manifest_rules_never_crash_on_odd_shapes():
    """Every value of the reference manifests replaced by each odd shape: a problem, never an exception."""
    docs = [(name, d) for name, content in solution_docs().items() for d in content]
    odd = [None, [], {}, "x", 7, True, [{"a": 1}], {"matchLabels": [1]}, "50%", [["key"]]]
    for index, (name, original) in enumerate(docs):
        for path in list(_paths(original))[1:]:
            for value in odd:
                changed = copy.deepcopy(original)
                target = changed
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = value
                bodies = [changed if i == index else d for i, (_, d) in enumerate(docs)]
                mixed = [ci.Doc(f"k8s/{name}", b) for (name, _), b in zip(docs, bodies, strict=True)
                         if isinstance(b, dict) and isinstance(b.get("kind"), str)]
                obs = ci.manifest_rules(mixed, [], OPTS)
                assert all(isinstance(v, str) for v in obs.values()), (name, path, value)
