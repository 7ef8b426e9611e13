"""One client per cluster, from the Cluster's connection: a kubeconfig context, the in-cluster service account,
or a kubeconfig stored in a Secret (read through the cluster the reconciler itself runs in). Each client re-reads
its source after a 401 and on a schedule (:mod:`reconciler.kube.credentials`), so rotated tokens are picked up.

Clients for a landscape are built by :func:`connect_all`, which also proves that no two Cluster documents reach
the same API server before anything is written (see :mod:`reconciler.kube.identity`)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from reconciler.config.model import Cluster
from reconciler.kube import identity, kubeconfig_check
from reconciler.kube.client import ClusterClient
from reconciler.kube.credentials import ApiSource
from reconciler.kube.errors import ConnectionConfigError, KubeError

POOL_SIZE = 16


# What reading a kubeconfig that is not YAML, or YAML of the wrong shape, raises inside the kubernetes client.
_UNUSABLE = (ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError, IndexError, yaml.YAMLError)


def _place(where: Path | str, exc: BaseException) -> str:
    """The kubeconfig's name, with line and column when its YAML could not be parsed."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"{where}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(where)


def _why(exc: BaseException) -> str:
    if isinstance(exc, yaml.YAMLError):
        problem = getattr(exc, "problem", None) or "it cannot be read"
        return f"not YAML ({problem})"
    if isinstance(exc, (TypeError, KeyError, AttributeError, IndexError)):
        return f"not a kubeconfig (clusters, contexts and users lists expected; {type(exc).__name__}: {exc})"
    return " ".join(str(exc).split())[:300]


def _configuration() -> k8s.Configuration:
    configuration = k8s.Configuration()
    configuration.connection_pool_maxsize = POOL_SIZE
    # No retry after a read timeout: urllib3 would retry a hanging GET three times, four deadlines in all, before
    # the error is seen; the controller retries the whole cluster with backoff instead.
    configuration.retries = urllib3.util.Retry(total=2, read=0, status=0, redirect=0)
    return configuration


def _from_kubeconfig(cluster: Cluster, kubeconfig: Path | None, context: str) -> k8s.ApiClient:
    kubeconfig_check.check(cluster, _kubeconfig_files(kubeconfig), context, explicit=kubeconfig is not None)
    configuration = _configuration()
    try:
        k8s_config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context,
                                    client_configuration=configuration, persist_config=False)
    except _UNUSABLE as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ConnectionConfigError(
            f"cluster {cluster.name}: cannot use context {context!r} from kubeconfig {_place(where, exc)}: "
            f"{_why(exc)}. Pass --kubeconfig or set KUBECONFIG to a file that has this context"
        ) from exc
    return k8s.ApiClient(configuration)


def _in_cluster(cluster: Cluster) -> k8s.ApiClient:
    configuration = _configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise ConnectionConfigError(
            f"cluster {cluster.name}: connection inCluster needs the reconciler to run in a pod with a service "
            f"account token: {exc}"
        ) from exc
    return k8s.ApiClient(configuration)


def _from_secret(cluster: Cluster, home: ClusterClient) -> k8s.ApiClient:
    ref = cluster.connection.kubeconfig_secret
    assert ref is not None
    subject = f"Secret {ref.namespace}/{ref.name} (kubeconfig of cluster {cluster.name})"
    try:
        secret = home.request("GET", f"/api/v1/namespaces/{ref.namespace}/secrets/{ref.name}", f"get {subject}")
    except KubeError as exc:
        raise ConnectionConfigError(f"cluster {cluster.name}: cannot read {subject}: {exc}") from exc
    encoded = secret.get("data", {}).get(ref.key)
    if not encoded:
        raise ConnectionConfigError(f"cluster {cluster.name}: {subject} has no key {ref.key!r}")
    try:
        document: dict[str, Any] = yaml.safe_load(base64.b64decode(encoded))
        configuration = _configuration()
        k8s_config.load_kube_config_from_dict(document, context=ref.context, client_configuration=configuration,
                                              persist_config=False)
    except _UNUSABLE as exc:
        raise ConnectionConfigError(f"cluster {cluster.name}: {subject} key {ref.key!r} is not a usable "
                                    f"kubeconfig: {_why(exc)}") from exc
    return k8s.ApiClient(configuration)


def connect(cluster: Cluster, kubeconfig: Path | None = None, home: ClusterClient | None = None) -> ClusterClient:
    """A client for ``cluster``. ``home`` is the cluster the reconciler runs in (for kubeconfig Secrets)."""
    connection = cluster.connection
    if connection.context is not None:
        context = connection.context
        return ClusterClient(cluster.name, ApiSource(cluster.name,
                                                     lambda: _from_kubeconfig(cluster, kubeconfig, context)))
    if connection.in_cluster:
        return ClusterClient(cluster.name, ApiSource(cluster.name, lambda: _in_cluster(cluster)))
    secret_home = home or ClusterClient("home", ApiSource("home", lambda: _home_api(kubeconfig)))
    return ClusterClient(cluster.name, ApiSource(cluster.name, lambda: _from_secret(cluster, secret_home)))


def _home_api(kubeconfig: Path | None) -> k8s.ApiClient:
    configuration = _configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException:
        try:
            k8s_config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None,
                                        client_configuration=configuration, persist_config=False)
        except _UNUSABLE as exc:
            where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            raise ConnectionConfigError(f"cannot find the cluster holding kubeconfig Secrets in "
                                        f"{_place(where, exc)}: {_why(exc)}") from exc
    return k8s.ApiClient(configuration)


def _kubeconfig_files(kubeconfig: Path | None) -> list[Path]:
    if kubeconfig is not None:
        return [kubeconfig]
    listed = os.environ.get("KUBECONFIG")
    if listed:
        return [Path(item) for item in listed.split(os.pathsep) if item]
    return [Path.home() / ".kube" / "config"]


def context_servers(clusters: Sequence[Cluster], kubeconfig: Path | None) -> dict[str, str]:
    """The server URL each context connection names, read from the kubeconfig without connecting or running
    credential plugins; clusters whose context is not there are left out (they may not be ours to reach)."""
    contexts: dict[str, str] = {}
    servers: dict[str, str] = {}
    for path in _kubeconfig_files(kubeconfig):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for entry in document.get("contexts") or []:
            contexts.setdefault(str(entry.get("name")), str((entry.get("context") or {}).get("cluster")))
        for entry in document.get("clusters") or []:
            servers.setdefault(str(entry.get("name")), str((entry.get("cluster") or {}).get("server", "")))
    return {
        cluster.name: servers[contexts[cluster.connection.context]]
        for cluster in clusters
        if cluster.connection.context in contexts and servers.get(contexts[cluster.connection.context])
    }


def connect_all(clusters: Mapping[str, Cluster], names: Sequence[str], kubeconfig: Path | None = None,
                ) -> tuple[dict[str, ClusterClient], dict[str, ConnectionConfigError]]:
    """Clients for the clusters ``names``; a cluster whose credentials cannot be used fails alone.

    Raises AliasedClusters when two Cluster documents reach one API server: by the URLs of every context the
    kubeconfig resolves (also of clusters not selected), then by the kube-system UID of the connected ones."""
    clients: dict[str, ClusterClient] = {}
    failed: dict[str, ConnectionConfigError] = {}
    for name in names:
        try:
            clients[name] = connect(clusters[name], kubeconfig)
        except ConnectionConfigError as error:
            failed[name] = error
    try:
        identity.verify_distinct(clusters, clients, context_servers(list(clusters.values()), kubeconfig))
    except identity.AliasedClusters:
        for client in clients.values():
            client.close()
        raise
    return clients, failed


def verify_worker(cluster: Cluster, client: ClusterClient, clusters: Mapping[str, Cluster],
                  kubeconfig: Path | None) -> None:
    """A controller worker's own proof that no other Cluster document reaches its server: against every other
    cluster this installation can reach (one GET each), and the URLs of every context the kubeconfig resolves."""
    others: dict[str, ClusterClient] = {}
    for name, other in clusters.items():
        if name != cluster.name:
            try:
                others[name] = connect(other, kubeconfig)
            except ConnectionConfigError:
                continue  # one reconciler per cluster holds no credentials for the others
    try:
        identity.verify_distinct(clusters, {**others, cluster.name: client},
                                 context_servers(list(clusters.values()), kubeconfig), only=cluster.name)
    finally:
        for other_client in others.values():
            other_client.close()
