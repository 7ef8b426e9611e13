"""GPU quota enforced by the real Kueue controller, with the real scheduler placing pods on simulated A100 nodes.

One Kueue manager runs next to the session's "gpu" cluster for this module only. The landscape is the sample's,
with quota enforced by both ResourceQuota and Kueue: prod has 2 A100 GPUs and may borrow 1 from staging, which
has 2 and shares the cohort. Jobs are created suspended with the queue label, as Kueue's webhook would make them
(the webhooks are left out, see testenv/kueue.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from reconciler.config import load_landscape
from reconciler.controller import risk_hold
from reconciler.kube.client import ClusterClient
from reconciler.kube.connect import connect
from testenv import build, clients, controlplane, kueue, polling

from .support import clients as cluster_clients
from .support import edit, private_repo, run_cli
from .test_diff_live import _git as git

pytestmark = pytest.mark.integration

HOLD = {"reconciler.test/hold": "no-such-node"}  # admitted, but no node fits: the workload stays admitted
# Memory too: the LimitRange gives every container a memory request, and Kueue admits only covered resources.
PROD_POOLS = "{a100: {gpu: 2, cpu: '8', memory: 64Gi, borrowingLimit: {gpu: 1}}, cpu: {cpu: '8', memory: 32Gi}}"
STAGING_POOLS = "{a100: {gpu: 2, cpu: '8', memory: 64Gi}, cpu: {cpu: '8', memory: 32Gi}}"


@pytest.fixture(scope="module")
def kueue_on_gpu(control_plane: controlplane.TestEnv) -> Iterator[kueue.Running]:
    try:
        running = kueue.start(control_plane, "gpu", build.ensure_kueue())
    except Exception as error:
        pytest.fail(f"Kueue did not start next to cluster gpu ({type(error).__name__}): {error}", pytrace=False)
    yield running
    kueue.stop(running)


def kueue_repo(tmp_path: Path, prefix: str) -> Path:
    """The sample with Kueue: prod and staging on cluster gpu in one cohort; dev (on a cluster without Kueue) gone.
    Namespaces start with ``prefix`` and the Platform is ``platform-<prefix>``."""
    return with_kueue(private_repo(tmp_path, prefix), prefix)


def with_kueue(repo: Path, prefix: str) -> Path:
    """The edits of ``kueue_repo`` on a copy of the sample whose namespaces start with ``prefix``."""
    (repo / "environments" / "dev.yaml").unlink()
    edit(repo, "platform.yaml", "  massDeletePercent: 25", "  massDeletePercent: 100\n  quotaEnforcement: Both")
    edit(repo, "environments/prod.yaml", "  quota:\n", f"  kueue:\n    cohort: ml\n    pools: {PROD_POOLS}\n  quota:\n")
    edit(repo, "environments/staging.yaml", f"{{cluster: shared, namespace: {prefix}-staging}}",
         f"{{cluster: gpu, namespace: {prefix}-staging}}")
    edit(repo, "environments/staging.yaml", "  quota:\n",
         f"  onRemove: delete\n  kueue:\n    cohort: ml\n    pools: {STAGING_POOLS}\n  quota:\n")
    return repo


def job(name: str, queue: str, gpus: int, node_selector: dict[str, str]) -> dict[str, Any]:
    container = {"name": "train", "image": "registry.example/train:1",
                 "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": str(gpus)},
                               "limits": {"nvidia.com/gpu": str(gpus)}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": queue}},
            "spec": {"suspend": True, "parallelism": 1, "completions": 1,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [container],
                                           "nodeSelector": node_selector}}}}


def submit(api: k8s.ApiClient, namespace: str, name: str, gpus: int, held: bool = True, queue: str = "training",
           ) -> str:
    """A suspended Job on the training queue; ``held`` pods find no node, so the job stays admitted (kwok
    completes a Job's running pods at once, which would give its quota back)."""
    k8s.BatchV1Api(api).create_namespaced_job(namespace, job(name, queue, gpus, HOLD if held else {}))
    return name


def workload_of(api: k8s.ApiClient, namespace: str, job_name: str) -> dict[str, Any] | None:
    found = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
        "kueue.x-k8s.io", "v1beta2", namespace, "workloads")["items"]
    owned = [w for w in found if any(o["name"] == job_name for o in w["metadata"].get("ownerReferences", []))]
    return owned[0] if owned else None


def condition(workload: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for item in (workload or {}).get("status", {}).get("conditions", []):
        if item["type"] == kind:
            return dict(item)
    return None


def has(api: k8s.ApiClient, namespace: str, job_name: str, kind: str) -> bool:
    found = condition(workload_of(api, namespace, job_name), kind)
    return bool(found and found["status"] == "True")


def admitted(api: k8s.ApiClient, namespace: str, job_name: str) -> bool:
    return has(api, namespace, job_name, "Admitted")


def pending_reason(api: k8s.ApiClient, namespace: str, job_name: str) -> str | None:
    found = condition(workload_of(api, namespace, job_name), "QuotaReserved")
    return str(found["message"]) if found and found["status"] == "False" and found.get("message") else None


def queue(client: ClusterClient, name: str) -> dict[str, Any]:
    found = client.get("ClusterQueue", None, name)
    assert found is not None, f"ClusterQueue {name} is missing"
    return found


def gpu_usage(client: ClusterClient, name: str, flavor: str) -> dict[str, str]:
    usage = {f["name"]: f for f in queue(client, name).get("status", {}).get("flavorsUsage", [])}
    resources = usage.get(flavor, {}).get("resources", [])
    return {k: str(r.get(k, "0")) for r in resources if r["name"] == "nvidia.com/gpu" for k in ("total", "borrowed")}


def test_jobs_are_admitted_within_quota_borrow_from_the_cohort_and_wait_beyond_it(
        tmp_path: Path, kubeconfig: Path, control_plane: controlplane.TestEnv, kueue_on_gpu: kueue.Running,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = kueue_repo(tmp_path, "kq")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "landscape with Kueue")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    gpu = cluster_clients(repo, kubeconfig)["gpu"]
    for kind, name in (("ResourceFlavor", "platform-kq-a100"), ("ResourceFlavor", "platform-kq-cpu"),
                       ("ClusterQueue", "platform-kq-prod"), ("ClusterQueue", "platform-kq-staging")):
        assert gpu.get(kind, None, name) is not None, (kind, name)
    assert gpu.get("LocalQueue", "kq-prod", "training") is not None
    api = clients.api_client(control_plane, "gpu")
    core = k8s.CoreV1Api(api)

    first = submit(api, "kq-prod", "within-quota", 2, held=False)
    polling.until(lambda: admitted(api, "kq-prod", first), 60, "Kueue to admit the job within prod's quota")
    pods = polling.until(lambda: [p for p in core.list_namespaced_pod("kq-prod", label_selector=f"job-name={first}")
                                  .items if p.spec.node_name], 60, "the admitted job's pod to be scheduled")
    node = core.read_node(pods[0].spec.node_name)
    assert node.metadata.labels.get("gpu") == "a100", f"scheduled on {node.metadata.name}, not an A100 node"
    polling.until(lambda: has(api, "kq-prod", first, "Finished"), 60, "the first job to finish and free its GPUs")

    held = submit(api, "kq-prod", "holds-prod-gpus", 2)
    polling.until(lambda: admitted(api, "kq-prod", held), 60, "Kueue to admit a job using all of prod's GPUs")
    borrowing = submit(api, "kq-prod", "borrowing", 1)
    polling.until(lambda: admitted(api, "kq-prod", borrowing), 60, "Kueue to admit a job on staging's idle GPU")
    assert polling.until(lambda: gpu_usage(gpu, "platform-kq-prod", "platform-kq-a100").get("borrowed") == "1", 30,
                         "prod's usage to show one borrowed GPU")

    beyond = submit(api, "kq-prod", "beyond-the-limit", 1)
    reason = polling.until(lambda: pending_reason(api, "kq-prod", beyond), 60, "Kueue's reason for the fourth job")
    assert "insufficient" in reason and "nvidia.com/gpu" in reason, reason
    assert not admitted(api, "kq-prod", beyond)
    api.close()  # type: ignore[no-untyped-call]
    lowering_below_admitted_usage_is_flagged_and_held(repo, kubeconfig, capsys)


def lowering_below_admitted_usage_is_flagged_and_held(repo: Path, kubeconfig: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """prod's queue has 2 GPUs admitted within its own quota (and 1 borrowed): a nominal quota of 1 is below it."""
    base = load_landscape(repo)
    edit(repo, "environments/prod.yaml", "a100: {gpu: 2,", "a100: {gpu: 1,")
    git(repo, "commit", "-q", "-am", "prod gives up an A100")
    capsys.readouterr()
    assert run_cli("diff", repo, "--base", "HEAD~1", "--kubeconfig", kubeconfig, "-o", "json") == 3
    document = json.loads(capsys.readouterr().out)
    [finding] = [f for f in document["findings"] if f["rule"] == "quota-below-usage"]
    assert finding["target"] == "gpu/kq-prod" and finding["severity"] == "block", finding
    assert "nvidia.com/gpu on a100 1 < 2 admitted within its own quota" in finding["reason"], finding
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) in (0, 2)
    shown = capsys.readouterr().out
    # Beside the change: every admitted resource of the queue, the GPUs with what was borrowed.
    assert "admitted now: " in shown and "platform-kq-a100 nvidia.com/gpu 3 (1 borrowed)" in shown, shown
    # The controller's path: the same live read, and the revision is held.
    head = load_landscape(repo)
    usage = risk_hold.live_usage(base, head, ["gpu"], lambda cluster: connect(cluster, kubeconfig))
    hold = risk_hold.judge("HEAD", base, head, usage)
    assert hold is not None and [f.rule for f in hold.findings] == ["quota-below-usage"]


def test_removing_an_environment_with_admitted_workloads_drains_then_deletes(
        tmp_path: Path, kubeconfig: Path, control_plane: controlplane.TestEnv, kueue_on_gpu: kueue.Running,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = kueue_repo(tmp_path, "kd")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    gpu = cluster_clients(repo, kubeconfig)["gpu"]
    api = clients.api_client(control_plane, "gpu")
    running = submit(api, "kd-staging", "running", 1, queue="default")  # staging's only queue
    polling.until(lambda: admitted(api, "kd-staging", running), 60, "Kueue to admit staging's job")

    (repo / "environments" / "staging.yaml").unlink()
    edit(repo, "environments/prod.yaml", ", borrowingLimit: {gpu: 1}", "")  # nothing left in the cohort to borrow
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) in (0, 2)
    shown = capsys.readouterr().out
    assert "ClusterQueue/platform-kd-staging" in shown and "drained first (stopPolicy HoldAndDrain" in shown, shown
    started = time.monotonic()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    assert time.monotonic() - started < 60, "the removal must not hang on the ClusterQueue's finalizer"
    assert not admitted(api, "kd-staging", running), "the workload was evicted by the drain"
    polling.until(lambda: gpu.get("ClusterQueue", None, "platform-kd-staging") is None, 30,
                  "the drained ClusterQueue to be gone")
    api.close()  # type: ignore[no-untyped-call]


def flavor(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
            "metadata": {"name": name, "labels": labels}, "spec": {"nodeLabels": {"made-by": "hand"}}}


def test_shared_objects_are_owned_by_the_platforms_cluster_inventory(
        tmp_path: Path, kubeconfig: Path, kueue_on_gpu: kueue.Running, capsys: pytest.CaptureFixture[str]) -> None:
    """A wanted flavor name held by nobody, or by another Platform, is a conflict and stays as it was; once free,
    the flavor is created and recorded; a priority class no longer wanted is pruned, another Platform's never."""
    repo = kueue_repo(tmp_path, "ks")
    gpu = cluster_clients(repo, kubeconfig)["gpu"]
    others = {"app.kubernetes.io/managed-by": "reconciler", "reconciler/platform": "platform-other"}
    for name, labels in (("platform-ks-a100", {}), ("platform-ks-cpu", others)):
        gpu.apply(flavor(name, labels))
    foreign_class = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
                     "metadata": {"name": "platform-ks-priority-7", "labels": others}, "value": 7}
    gpu.apply(foreign_class)
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) != 0
    shown = capsys.readouterr().out
    assert "ResourceFlavor/platform-ks-a100 exists and is not the reconciler's" in shown, shown
    assert "ResourceFlavor/platform-ks-cpu exists and is Platform platform-other's" in shown, shown
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) != 0
    for name in ("platform-ks-a100", "platform-ks-cpu"):
        live = gpu.get("ResourceFlavor", None, name)
        assert live is not None and live["spec"]["nodeLabels"] == {"made-by": "hand"}, live

    for name in ("platform-ks-a100", "platform-ks-cpu"):
        gpu.delete("ResourceFlavor", None, name)
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    stored = gpu.get("ConfigMap", "reconciler-system", "inventory.platform-ks.cluster")
    assert stored is not None
    owned = json.loads(stored["data"]["inventory.json"])["objects"]
    assert {"ResourceFlavor/platform-ks-a100", "ResourceFlavor/platform-ks-cpu",
            "WorkloadPriorityClass/platform-ks-priority-10"} <= set(owned), owned
    live = gpu.get("ResourceFlavor", None, "platform-ks-a100")
    assert live is not None and live["spec"]["nodeLabels"] == {"gpu": "a100"}, live

    edit(repo, "environments/prod.yaml", "priority: 10", "priority: 7")  # 7: another Platform's name
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) != 0
    shown = capsys.readouterr().out
    assert "WorkloadPriorityClass/platform-ks-priority-7 exists and is Platform platform-other's" in shown, shown
    edit(repo, "environments/prod.yaml", "priority: 7", "priority: 20")
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) in (0, 2)
    shown = capsys.readouterr().out
    assert "WorkloadPriorityClass/platform-ks-priority-10" in shown and "no longer wanted" in shown, shown
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    assert gpu.get("WorkloadPriorityClass", None, "platform-ks-priority-10") is None
    assert gpu.get("WorkloadPriorityClass", None, "platform-ks-priority-20") is not None
    assert gpu.get("WorkloadPriorityClass", None, "platform-ks-priority-7") is not None  # never ours
    assert gpu.get("ResourceFlavor", None, "platform-ks-a100") is not None  # still wanted
