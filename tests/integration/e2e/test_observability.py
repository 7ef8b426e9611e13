"""The drop-in observability files read only what a running controller exports, a bad revision is an Event in
the controller's namespace, and `reconciler status` prints the facts of /status and of the clusters alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from reconciler.kube.client import ClusterClient
from reconciler.plan import quota
from tests.promql import reads

from ..support import clients, quotas_count_every_pod, run_cli
from .conftest import StartController
from .harness import ROOT, ControllerProcess, GitRemote, git

pytestmark = pytest.mark.integration
OBSERVABILITY = ROOT / "deploy" / "observability"
_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})? \S+$")


def expressions() -> list[tuple[str, str]]:
    """(where, expression) of every alert rule and every dashboard query."""
    found = []
    rules = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    for group in rules["spec"]["groups"]:
        found += [(f"prometheus-rules.yaml alert {r['alert']}", r["expr"]) for r in group["rules"]]
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        found += [(f"grafana-dashboard.json panel {panel['title']!r}", t["expr"]) for t in panel["targets"]]
    return found


def exported(controller: ControllerProcess) -> dict[str, set[str]]:
    """Every metric with at least one sample on /metrics, and the label names its samples carry."""
    answer = controller.get("/metrics")
    assert answer is not None and answer[0] == 200
    found: dict[str, set[str]] = {}
    for line in answer[1].splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = re.findall(r'(\w+)="(?:[^"\\]|\\.)*"', match["labels"] or "")
            found.setdefault(match["name"], set()).update(labels)
    return found


def counted(controller: ControllerProcess) -> None:
    """A quota created by a converge is counted by the cluster's quota controller afterwards: a resync reads it."""
    def every_quota_counted() -> bool:
        targets = [t for c in controller.status()["clusters"].values() for t in c["targets"].values()]
        return bool(targets) and all(f["used"] is not None for t in targets for f in t["quota"].values())

    controller.wait_for(every_quota_counted, 30, "the usage of every target's quota, counted")


def reasons(client: ClusterClient, namespace: str, reason: str) -> list[dict[str, str]]:
    listing = client.request("GET", f"/api/v1/namespaces/{namespace}/events", "list events")
    return [e for e in listing["items"] if e["reason"] == reason]


def test_every_alert_and_panel_reads_exported_metrics_and_a_bad_revision_is_an_event(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    cluster = clients(remote.work, kubeconfig)
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--resync", "1s",
                                  "--kubeconfig", kubeconfig)
    good = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(good)
    counted(controller)
    bad = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: lots")
    controller.wait_for(lambda: (controller.status()["lastBadRevision"] or {}).get("revision") == bad, 30,
                        "the bad revision on /status")

    # The Lease's cluster (the first by name without --lease-cluster) holds the controller's namespace.
    event = controller.wait_for(lambda: [e for e in reasons(cluster["gpu"], "reconciler-system", "InvalidRevision")
                                         if bad[:12] in e["message"]], 30, "the InvalidRevision Event")[0]
    assert event["type"] == "Warning"
    assert f"revision {good[:12]} stays applied" in event["message"]
    assert "environments/prod.yaml:" in event["message"] and "spec.quota.gpu" in event["message"]

    metrics = exported(controller)
    assert controller.metrics()["reconciler_revision_invalid"] == 1
    problems = []
    for where, expression in expressions():
        read = reads(expression)
        for name, labels in read.metrics.items():
            if name not in metrics:
                problems.append(f"{where}: {name} is not on /metrics")
            elif labels - metrics[name]:
                problems.append(f"{where}: {name} has no label {', '.join(sorted(labels - metrics[name]))}")
        available = set().union(*(metrics.get(name, set()) for name in read.metrics))
        if read.grouping - available:
            problems.append(f"{where}: groups by {', '.join(sorted(read.grouping - available))}, which no metric of "
                            "the expression carries")
    assert problems == [], "\n".join(problems)
    assert len(expressions()) >= 15


def test_reconciler_status_prints_the_controllers_facts_and_the_clusters_alike(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = clients(remote.work, kubeconfig)
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--resync", "1s",
                                  "--kubeconfig", kubeconfig)
    revision = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(revision)
    counted(controller)
    for environment, where in (("dev", "shared"), ("staging", "shared"), ("prod", "gpu")):
        namespace = f"{remote.prefix}-{environment}"
        # Counted again now, not by the controller manager's resync between the two reads compared below.
        quotas_count_every_pod(k8s.CoreV1Api(cluster[where].api), namespace)
        controller.wait_for(lambda w=where, n=namespace: controller.status()["clusters"][w]["targets"][n]["quota"]
                            == quota.usage_of(cluster[w].get("ResourceQuota", n, "environment-quota") or {}), 30,
                            f"{where}/{namespace}: the quota usage the API server reports, on /status")
    prod = cluster["gpu"].get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    assert prod is not None
    gpus = quota.usage_of(prod)["gpu"]
    shown_gpus = f"{quota.shown('gpu', gpus['used'])}/{quota.shown('gpu', gpus['hard'])}"

    assert run_cli("status", "--url", controller.url("")) == 0
    text = capsys.readouterr().out
    for environment, where in (("dev", "shared"), ("staging", "shared"), ("prod", "gpu")):
        line = next(li for li in text.splitlines() if f" {remote.prefix}-{environment} " in li)
        assert line.split()[:5] == [environment, where, f"{remote.prefix}-{environment}", "converged", revision[:12]]
    assert shown_gpus in next(li for li in text.splitlines() if f" {remote.prefix}-prod " in li)

    assert run_cli("status", "--url", controller.url(""), "-o", "json") == 0
    from_controller = json.loads(capsys.readouterr().out)["clusters"]
    assert run_cli("status", "--kubeconfig", kubeconfig, "--context", "shared", "--context", "gpu",
                   "--platform", f"platform-{remote.prefix}", "-o", "json") == 0
    from_clusters = json.loads(capsys.readouterr().out)["clusters"]
    for name in ("shared", "gpu"):
        assert sorted(from_clusters[name]["targets"]) == sorted(from_controller[name]["targets"])
        for namespace, target in from_controller[name]["targets"].items():
            recorded = from_clusters[name]["targets"][namespace]
            assert (recorded["environment"], recorded["revision"]) == (target["environment"], target["revision"])
            assert recorded["quota"] == target["quota"]
            assert recorded["agent"]["wanted"] == target["agent"]["wanted"]
