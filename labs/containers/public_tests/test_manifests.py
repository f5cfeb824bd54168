"""The Kubernetes manifests in k8s/, read as data."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

VERSION = "1.30"


def documents() -> list[dict]:
    docs = []
    for path in sorted((ROOT / "k8s").glob("*.y*ml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def one(kind: str) -> dict:
    found = [d for d in documents() if d.get("kind") == kind]
    assert found, f"no {kind} in k8s/"
    return found[0]


def deployment() -> dict:
    return one("Deployment")


def containers() -> list[dict]:
    return deployment()["spec"]["template"]["spec"]["containers"]


def pod_labels() -> dict:
    return deployment()["spec"]["template"]["metadata"]["labels"]


def test_manifests_are_valid_kubernetes():
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate to check the schemas")
    docs = documents()
    assert {"Deployment", "Service"} <= {d.get("kind") for d in docs}
    for doc in docs:
        kv.validate(doc, VERSION, strict=True)
    service = one("Service")
    assert all(pod_labels().get(k) == v for k, v in service["spec"]["selector"].items())


def test_probes():
    for c in containers():
        assert c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", c["name"]
        assert c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", c["name"]


def test_requests_and_limits():
    for c in containers():
        resources = c.get("resources", {})
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{c['name']}: {part} for cpu and memory"


def test_zero_downtime_rolling_update():
    spec = deployment()["spec"]
    hpa = [d for d in documents() if d.get("kind") == "HorizontalPodAutoscaler"]
    pods = spec.get("replicas", hpa[0]["spec"].get("minReplicas", 1) if hpa else 1)
    assert pods >= 2, "run at least 2 pods"
    assert spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") in (0, "0%")


def test_pod_disruption_budget():
    pdb = one("PodDisruptionBudget")
    selector = pdb["spec"].get("selector", {}).get("matchLabels", {})
    assert selector and all(pod_labels().get(k) == v for k, v in selector.items())
    assert ("minAvailable" in pdb["spec"]) != ("maxUnavailable" in pdb["spec"])


def test_horizontal_pod_autoscaler():
    hpa = one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment()["metadata"]["name"]
    assert hpa["spec"].get("minReplicas", 1) >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def test_restrictive_security_context():
    pod = deployment()["spec"]["template"]["spec"]
    for c in containers():
        ctx = c.get("securityContext", {})
        assert ctx.get("runAsNonRoot", pod.get("securityContext", {}).get("runAsNonRoot")) is True
        assert ctx.get("readOnlyRootFilesystem") is True
        assert ctx.get("allowPrivilegeEscalation") is False
        assert "ALL" in ctx.get("capabilities", {}).get("drop", [])
