"""Reads of what the installation set up around the reconciler: the guardrails ConfigMap and the ClusterRoles that
RoleBindings from git reference. Both are read, never written (the admission policy forbids it anyway)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config import guardrails
from reconciler.config.guardrails import Guardrails
from reconciler.config.model import Cluster
from reconciler.kube import errors
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.connect import ConnectOptions, connect_landscape
from reconciler.kube.resources import CLUSTER_ROLE


def read_guardrails(client: ClusterClient) -> Guardrails | None:
    """The cluster's guardrails, or None when it has no guardrails ConfigMap (an installation without deploy/)."""
    namespace, name = guardrails.CONFIGMAP_NAMESPACE, guardrails.CONFIGMAP_NAME
    try:
        configmap = client.get("ConfigMap", namespace, name)
    except errors.Forbidden as error:
        raise errors.Forbidden(client.name, f"read the guardrails ConfigMap {namespace}/{name}", error.status,
                               f"{error.message}; grant the reconciler `get` on it (deploy/rbac.yaml)") from error
    if configmap is None:
        return None
    data = configmap.get("data") or {}
    return guardrails.from_data(data, f"cluster {client.name}: ConfigMap {namespace}/{name}")


@dataclass(frozen=True)
class Installed:
    """What the clusters' installations allow, combined; where each cluster's came from; clusters not read."""

    guardrails: Guardrails
    notes: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # cluster -> the error that kept it from being read


def installed_guardrails(clients: Mapping[str, ClusterClient], given: Guardrails | None) -> Installed:
    """What every cluster's installation allows, and ``given`` (a --guardrails file) too; a cluster without a
    guardrails ConfigMap counts as ``given``, or the built-in defaults. A cluster that cannot be read is left out
    (and reported): nothing is written to it either."""
    fallback = given or guardrails.DEFAULT
    found, notes, failed = ([given] if given else []), [], {}
    where = f"{guardrails.CONFIGMAP_NAMESPACE}/{guardrails.CONFIGMAP_NAME}"
    for name in sorted(clients):
        try:
            installed = read_guardrails(clients[name])
        except errors.KubeError as error:
            failed[name] = str(error)
            continue
        found.append(installed or fallback)
        notes.append(f"cluster {name}: guardrails from ConfigMap {where}" if installed else
                     f"cluster {name}: no guardrails ConfigMap {where}; using {fallback.source}")
    return Installed(guardrails.combine(*(found or [fallback])), notes, failed)


def read_cluster_roles(client: ClusterClient, names: Iterable[str]) -> dict[str, Object | None]:
    """Each named ClusterRole as the cluster holds it now (None when it does not exist): one GET per name, since
    the reconciler may read only the roles it may bind."""
    roles: dict[str, Object | None] = {}
    for name in sorted(set(names)):
        try:
            roles[name] = client.request("GET", CLUSTER_ROLE.object_path(None, name), f"get ClusterRole {name}")
        except errors.NotFound:
            roles[name] = None
        except errors.Forbidden as error:
            raise errors.Forbidden(client.name, f"get ClusterRole {name}", error.status, (
                f"{error.message}; the reconciler checks every ClusterRole it binds: add {name} to the resourceNames "
                "of the `get, bind` rule of the ClusterRole reconciler (deploy/rbac.yaml)")) from error
    return roles


def read_installed(clusters: Iterable[Cluster], kubeconfig: Path | None, given: Guardrails | None) -> Installed:
    """``installed_guardrails`` for a process that holds no clients yet (the controller at start): connects to
    each cluster for the one read and closes again."""
    reached = {cluster.name: cluster for cluster in clusters}
    with connect_landscape(reached, ConnectOptions(kubeconfig), list(reached), verify=False) as found:
        read = installed_guardrails(found.clients, given)
    failed = {name: str(error) for name, error in found.unusable.items()}
    return Installed(read.guardrails, read.notes, {**failed, **read.failed})
