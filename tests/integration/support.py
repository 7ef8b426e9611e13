"""Helpers for converge tests: a private copy of the sample repository, the CLI, and counts read off the servers."""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from reconciler.cli import main as cli
from reconciler.config import load_landscape
from reconciler.config.quantity import parse_quantity
from reconciler.kube.api_sources import USER_AGENT
from reconciler.kube.client import ClusterClient
from reconciler.kube.connect import connect
from testenv import audit, controlplane, polling, users

from . import hygiene

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"
# Kinds the reconciler writes, as the API server names them in apiserver_request_total.
OUR_RESOURCES = (
    "namespaces",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "limitranges",
    "resourcequotas",
    "networkpolicies",
    "configmaps",
    "deployments",
)
# The reconciler writes only with server-side apply, merge patches and deletes. Controllers in the same cluster
# create (POST) and update (PUT) objects of these kinds on their own, e.g. a namespace's default ServiceAccount.
WRITE_VERBS = ("APPLY", "PATCH", "DELETE")
RECOUNT = "quota-recount"  # a pod made and deleted to have a namespace's quotas counted again
_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def private_repo(tmp_path: Path, prefix: str) -> Path:
    """A copy of sample-repo whose namespaces start with ``prefix`` (``ml-dev`` -> ``<prefix>-dev``) and whose
    Platform is named after it, so tests sharing the clusters never see each other's environments; its namespaces
    are deleted after the test (or the module whose fixture made it, see hygiene.py)."""
    hygiene.record(prefix)
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE, repo)
    for file in repo.rglob("*.yaml"):
        text = file.read_text()
        text = re.sub(r"namespace: ml-", f"namespace: {prefix}-", text)
        file.write_text(text.replace("name: ml-platform", f"name: platform-{prefix}"))
    return repo


def edit(repo: Path, relative: str, old: str, new: str) -> None:
    path = repo / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new))


def run_cli(*argv: str) -> int:
    return cli.main([str(a) for a in argv])


def converged(repo: Path, kubeconfig: Path, *extra: str) -> None:
    """``reconciler apply`` of ``repo`` (with ``extra`` arguments), which must succeed."""
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, *extra) == 0


def live_quota(client: ClusterClient, namespace: str) -> dict[str, str]:
    """The hard limits of the environment's ResourceQuota as the cluster has them."""
    quota = client.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None
    return dict(quota["spec"]["hard"])


def clients(repo: Path, kubeconfig: Path) -> dict[str, ClusterClient]:
    landscape = load_landscape(repo)
    return {name: connect(cluster, kubeconfig) for name, cluster in landscape.clusters.items()}


def audit_marks(env: controlplane.TestEnv) -> dict[str, audit.Mark]:
    """Where each cluster's audit log ends now: :func:`reconciler_writes` counts from here."""
    return {name: audit.mark(cluster.audit_log) for name, cluster in env.clusters.items()}


def reconciler_writes(marks: dict[str, audit.Mark]) -> dict[str, int]:
    """Per cluster, the writes to managed kinds the reconciler (run in-process as the admin, by its User-Agent) sent
    since ``marks``, as each API server's audit log records them; dry runs are not writes. The cluster's own components
    (a namespace being emptied, pods starting) are not counted, so nothing needs to settle first."""
    counts: dict[str, int] = {}
    for name, start in marks.items():
        counts[name] = sum(
            1 for event in audit.events_since(start, users.ADMIN, USER_AGENT)
            if audit.is_write(event) and (event.get("objectRef") or {}).get("resource") in OUR_RESOURCES
            and not event["objectRef"].get("subresource")
        )  # fmt: skip
    return counts


def reconciler_requests(marks: dict[str, audit.Mark]) -> dict[str, Counter[audit.Key]]:
    """Per cluster, every request the reconciler (as the admin, by its User-Agent: in this process or a controller
    started with the test kubeconfig) sent since ``marks``, by verb, resource and scope, from the audit log; no other
    client's, so other tests' namespaces being deleted meanwhile do not count."""
    return {name: audit.requests_since(start, users.ADMIN, USER_AGENT) for name, start in marks.items()}


def write_requests(client: ClusterClient, code: str = "") -> int:
    """Writes to the kinds the reconciler manages, as counted by the API server itself (all clients); only those
    answered with an HTTP status starting with ``code`` if given ("2": the writes that reached etcd)."""
    _, url, headers, _, _ = client.api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    response = client.api.rest_client.request("GET", url, headers=headers)
    total = 0
    for line in response.read().decode().splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = dict(part.split("=", 1) for part in match["labels"].split(","))
        labels = {k: v.strip('"') for k, v in labels.items()}
        if (
            labels.get("verb") in WRITE_VERBS
            and labels.get("resource") in OUR_RESOURCES
            and labels.get("subresource", "") == ""
            and labels.get("dry_run", "") == ""
            and labels.get("code", "").startswith(code)
        ):
            total += int(float(match["value"]))
    return total


def api_as_token(kubeconfig: Path, context: str, token: str) -> k8s.ApiClient:
    """An API client for ``context``'s server that authenticates with ``token`` (a team member, an agent)."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(
        config_file=str(kubeconfig), context=context, client_configuration=configuration, persist_config=False
    )
    configuration.refresh_api_key_hook = None  # it would put the kubeconfig's own credentials back
    configuration.api_key = {"authorization": f"Bearer {token}"}
    configuration.cert_file = configuration.key_file = None
    return k8s.ApiClient(configuration)


def pod(name: str, **requests: str) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": dict(requests), "limits": dict(requests)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container]}}


def admin_token(kubeconfig: Path) -> str:
    """The admin's bearer token from a test environment's kubeconfig."""
    config = yaml.safe_load(kubeconfig.read_text())
    return str(config["users"][0]["user"]["token"])


def pods_admitted(core: k8s.CoreV1Api, namespace: str) -> None:
    """Wait until pods can be admitted in a new namespace and are charged to its quotas.

    The ServiceAccount admission plugin refuses pods until the controller manager has made the namespace's ``default``
    ServiceAccount. Quota admission charges a pod only to resources in a ResourceQuota's ``status.hard``: a pod
    admitted before the controller manager's first pass over a new quota is not charged, and that pass counts from
    an informer that may not have seen the pod yet, so the pod would stay uncounted until the next full resync
    (minutes). Waiting for every quota's status to cover its spec makes the charge synchronous.
    """
    polling.until(
        lambda: core.list_namespaced_service_account(namespace, field_selector="metadata.name=default").items,
        timeout=60, what=f"the default service account in {namespace} (made by the controller manager)",
    )
    polling.until(lambda: _quotas_counted(core, namespace), timeout=60,
                  what=f"the controller manager to compute the status of every ResourceQuota in {namespace}")


def _quotas_counted(core: k8s.CoreV1Api, namespace: str) -> bool:
    for found in core.list_namespaced_resource_quota(namespace).items:
        hard, status = found.spec.hard or {}, found.status
        if status is None or (status.hard or {}) != hard or not set(hard) <= set(status.used or {}):
            return False
    return True


def quotas_count_every_pod(core: k8s.CoreV1Api, namespace: str) -> None:
    """Wait until every ResourceQuota of ``namespace`` counts each pod the namespace holds, its agent's included.

    A pod admitted before its quota had a status, such as an agent started by the same apply, is not charged (see
    :func:`pods_admitted`) and stays uncounted until the controller manager counts the namespace again: at its
    periodic resync (every 5 minutes), or when a pod of the namespace is deleted. A pod made and deleted here starts
    that recount; it asks for 1m of CPU, which no other pod does, so its charge gone shows the recount was made."""
    pods_admitted(core, namespace)
    core.create_namespaced_pod(namespace, pod(RECOUNT, cpu="1m", memory="1Mi"))
    core.delete_namespaced_pod(RECOUNT, namespace, grace_period_seconds=0)
    polling.until(lambda: _pods_counted(core, namespace), timeout=60,
                  what=f"the controller manager to count every pod of {namespace} in its quotas")


def _pods_counted(core: k8s.CoreV1Api, namespace: str) -> bool:
    # Quota counts a pod until it ends (Succeeded or Failed), one being deleted until its grace period is over.
    live = [p for p in core.list_namespaced_pod(namespace).items if p.status.phase not in ("Succeeded", "Failed")]
    cpu = sum((parse_quantity((c.resources.requests or {}).get("cpu", "0")) for p in live for c in p.spec.containers
               if c.resources is not None), Fraction(0))
    for found in core.list_namespaced_resource_quota(namespace).items:
        used = (found.status and found.status.used) or {}
        if "pods" in used and used["pods"] != str(len(live)):
            return False
        if "requests.cpu" in used and parse_quantity(used["requests.cpu"]) != cpu:
            return False
    return True


def quiet_writes(client: ClusterClient, settle: float = 1.5, timeout: float = 60.0) -> int:
    """``write_requests`` once the cluster's own controllers have stopped writing (e.g. after a namespace deletion
    that an earlier test started), so a count taken around a command measures that command."""
    deadline = time.monotonic() + timeout
    last = write_requests(client)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = write_requests(client)
        # The namespace controller deletes a terminating namespace's objects in batches, with pauses that can
        # outlast ``settle`` on a busy machine: its DELETEs count as writes to our kinds until it is done.
        if now == last and not _terminating(client):
            return now
        last = now
    return last


def _terminating(client: ClusterClient) -> list[str]:
    return [ns["metadata"]["name"] for ns in client.list("Namespace")
            if ns.get("status", {}).get("phase") == "Terminating"]
