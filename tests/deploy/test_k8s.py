"""deploy/k8s/: every manifest validates, offline and strictly (unknown fields refused),
against the Kubernetes schemas kubernetes-validate ships, and holds what the deployment
needs: a web Deployment with its Service, HPA and PodDisruptionBudget, a worker Deployment
per queue (the GPU one with an nvidia.com/gpu limit and a node selector), one beat, and
secrets only through Secret objects."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSIONS = ("1.29.0", "1.33.0")  # the oldest and a recent release still commonly run
SECRET_NAMES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SKILLFORGE_METRICS_TOKEN"}


def documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":  # kustomize's own file, not an API object
            continue
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_strictly(version):
    docs = documents()
    assert len(docs) >= 12
    for name, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {exc.message} at {list(exc.path)}")


def test_the_validator_refuses_a_broken_manifest():
    """The check above has teeth: a misspelt field and a wrong type are refused."""
    deployment = yaml.safe_load((K8S / "beat.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["resoures"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    deployment = yaml.safe_load((K8S / "beat.yaml").read_text())
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def test_web_has_service_hpa_and_disruption_budget():
    web = by_kind("Deployment")["skillforge-web"]
    selector = web["spec"]["selector"]["matchLabels"]
    assert selector == web["spec"]["template"]["metadata"]["labels"]
    service = by_kind("Service")["skillforge-web"]
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] == containers(web)[0]["ports"][0]["name"]
    hpa = by_kind("HorizontalPodAutoscaler")["skillforge-web"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "skillforge-web"}
    assert hpa["spec"]["minReplicas"] >= 2
    budgets = by_kind("PodDisruptionBudget")
    assert budgets["skillforge-web"]["spec"]["selector"]["matchLabels"] == selector
    assert budgets["skillforge-web"]["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]  # drains can proceed
    assert "gunicorn" in containers(web)[0]["args"]
    assert containers(web)[0]["readinessProbe"]["exec"]["command"][:2] == ["python", "deploy/healthcheck.py"]


def test_a_worker_deployment_per_queue():
    deployments = by_kind("Deployment")
    for queue in ("cpu", "gpu"):
        worker = deployments[f"skillforge-worker-{queue}"]
        args = containers(worker)[0]["args"]
        assert args[args.index("-Q") + 1] == queue
        assert "solo" in args
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 600  # the sandbox's wall ceiling
        assert worker["spec"]["template"]["spec"]["nodeSelector"]
        assert f"skillforge-worker-{queue}" in by_kind("PodDisruptionBudget")


def test_gpu_worker_claims_one_gpu_on_gpu_nodes():
    worker = by_kind("Deployment")["skillforge-worker-gpu"]
    spec = worker["spec"]["template"]["spec"]
    resources = containers(worker)[0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"]["nvidia.com/gpu.present"] == "true"
    assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    env = {e["name"]: e.get("value") for e in containers(worker)[0]["env"]}
    assert env["SKILLFORGE_SANDBOX"] == "docker" and env["SKILLFORGE_GPUS"] == "auto"  # bubblewrap refuses GPUs
    mounts = {m["mountPath"] for m in containers(worker)[0]["volumeMounts"]}
    assert {"/var/run/docker.sock", env["SKILLFORGE_SANDBOX_TMP"]} <= mounts  # same path on node and pod


def test_cpu_worker_runs_bubblewrap_privileged_only_on_sandbox_nodes():
    worker = by_kind("Deployment")["skillforge-worker-cpu"]
    env = {e["name"]: e.get("value") for e in containers(worker)[0]["env"]}
    assert env["SKILLFORGE_SANDBOX"] == "bubblewrap" and env["SKILLFORGE_GPUS"] == ""
    assert containers(worker)[0]["securityContext"]["privileged"] is True
    assert worker["spec"]["template"]["spec"]["nodeSelector"] == {"skillforge.io/sandbox": "true"}
    assert "nvidia.com/gpu" not in containers(worker)[0]["resources"].get("limits", {})


def test_exactly_one_beat():
    beat = by_kind("Deployment")["skillforge-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert containers(beat)[0]["args"][:4] == ["celery", "-A", "skillforge", "beat"]


def test_secrets_come_only_from_secret_objects():
    secret = by_kind("Secret")["skillforge-secrets"]
    assert set(secret["stringData"]) == SECRET_NAMES
    assert not SECRET_NAMES & set(by_kind("ConfigMap")["skillforge-config"]["data"])
    for _, doc in documents():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers(doc):
            for env in container.get("env", []):
                if env["name"] in SECRET_NAMES:
                    assert "value" not in env, f"{doc['metadata']['name']}: {env['name']} inline"
                    assert env["valueFrom"]["secretKeyRef"]["name"] == "skillforge-secrets"
            assert container["envFrom"] == [{"configMapRef": {"name": "skillforge-config"}}]


def test_every_pod_mounts_the_shared_data_volume_where_settings_say():
    config = by_kind("ConfigMap")["skillforge-config"]["data"]
    claim = by_kind("PersistentVolumeClaim")["skillforge-data"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # the web writes, workers on other nodes read
    for name, doc in {**by_kind("Deployment"), **by_kind("Job")}.items():
        if name == "skillforge-beat":
            continue
        volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"]["volumes"]}
        mounts = {m["mountPath"]: m["name"] for c in containers(doc) for m in c["volumeMounts"]}
        assert volumes[mounts[config["SKILLFORGE_DATA_DIR"]]]["persistentVolumeClaim"]["claimName"] == "skillforge-data"
