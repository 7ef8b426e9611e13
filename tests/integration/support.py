"""Helpers for converge tests: a private copy of the sample repository, the CLI, and counts read off the servers."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from reconciler import cli
from reconciler.config import load_landscape
from reconciler.kube.client import ClusterClient
from reconciler.kube.connect import connect
from testenv import polling

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
_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def private_repo(tmp_path: Path, prefix: str) -> Path:
    """A copy of sample-repo whose namespaces start with ``prefix`` (``ml-dev`` -> ``<prefix>-dev``) and whose
    Platform is named after it, so tests sharing the clusters never see each other's environments."""
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


def clients(repo: Path, kubeconfig: Path) -> dict[str, ClusterClient]:
    landscape = load_landscape(repo)
    return {name: connect(cluster, kubeconfig) for name, cluster in landscape.clusters.items()}


def write_requests(client: ClusterClient) -> int:
    """Writes to the kinds the reconciler manages, as counted by the API server itself (all clients)."""
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
    """Wait until pods can be admitted in a new namespace: the ServiceAccount admission plugin refuses them until
    the controller manager has made the namespace's ``default`` ServiceAccount."""
    polling.until(
        lambda: core.list_namespaced_service_account(namespace, field_selector="metadata.name=default").items,
        timeout=60, what=f"the default service account in {namespace} (made by the controller manager)",
    )


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
