"""The Kubernetes manifests in deploy/k8s: every base document is valid against the Kubernetes
1.30 schemas (offline, via kubernetes-validate), and the pieces refer to each other correctly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).parents[3] / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"
KUBERNETES_VERSION = "1.30"


def _kustomization(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return data


def _base_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for name in _kustomization(BASE)["resources"]:
        docs.extend(d for d in yaml.safe_load_all((BASE / name).read_text()) if d)
    return docs


def _named(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _base_documents() if d["kind"] == kind}


def _workloads() -> dict[str, dict[str, Any]]:
    return {**_named("Deployment"), **_named("StatefulSet")}


def _id(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def test_base_lists_exactly_the_resource_files() -> None:
    listed = _kustomization(BASE)["resources"]
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(listed) == sorted(on_disk)
    assert all((BASE / name).is_file() for name in listed)
    assert "namespace" not in _kustomization(BASE)


@pytest.mark.parametrize("doc", _base_documents(), ids=_id)
def test_document_is_valid_kubernetes(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("deployment", list(_workloads().values()), ids=_id)
def test_deployment_containers_are_probed_bounded_and_non_root(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    for container in pod["containers"]:
        ports = {p.get("name") for p in container["ports"]} | {
            p["containerPort"] for p in container["ports"]
        }
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            http = container[probe]["httpGet"]
            assert http["path"] == path, (container["name"], probe)
            assert http["port"] in ports, (container["name"], probe)
        assert container["resources"]["requests"], container["name"]
        assert container["resources"]["limits"], container["name"]
        security = container.get("securityContext", {})
        assert security.get("runAsNonRoot", pod["securityContext"].get("runAsNonRoot")) is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]


def test_hpa_targets_an_existing_workload() -> None:
    hpas = _named("HorizontalPodAutoscaler")
    assert hpas
    for hpa in hpas.values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] in _named(target["kind"])


def test_ingest_spools_on_a_persistent_volume_per_replica() -> None:
    ingest = _named("StatefulSet")["energymon-ingest"]
    claims = {c["metadata"]["name"] for c in ingest["spec"]["volumeClaimTemplates"]}
    container = ingest["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert mounts["spool"] == env["ENERGYMON_INGEST_SPOOL_DIR"]
    assert "spool" in claims
    assert ingest["spec"]["serviceName"] in _named("Service")


@pytest.mark.parametrize("service", list(_named("Service").values()), ids=_id)
def test_service_selects_a_deployments_pods(service: dict[str, Any]) -> None:
    selector = service["spec"]["selector"].items()
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in _workloads().values()]
    assert any(selector <= labels.items() for labels in pod_labels)


def test_overlay_refers_to_the_base_and_its_names() -> None:
    overlay = _kustomization(OVERLAY)
    assert "../../base" in overlay["resources"]
    for replica in overlay["replicas"]:
        assert replica["name"] in _workloads()
    images = {
        c["image"].partition(":")[0]
        for d in _base_documents()
        if d["kind"] in {"Deployment", "StatefulSet", "Job"}
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    for image in overlay["images"]:
        assert image["name"] in images


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_overlay_builds_into_valid_kubernetes() -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert len(docs) == len(_base_documents())
    for doc in docs:
        assert doc["metadata"]["namespace"] == "energymon", _id(doc)
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
