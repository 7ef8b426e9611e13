"""One client per cluster, from the Cluster's connection: a kubeconfig context, the in-cluster service account,
or a kubeconfig stored in a Secret (read through the cluster the reconciler itself runs in). Each client re-reads
its source after a 401 and on a schedule (:mod:`reconciler.kube.credentials`), so rotated tokens are picked up."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from reconciler.config.model import Cluster
from reconciler.kube.client import ClusterClient
from reconciler.kube.credentials import ApiSource
from reconciler.kube.errors import ConnectionConfigError, KubeError

POOL_SIZE = 16


def _configuration() -> k8s.Configuration:
    configuration = k8s.Configuration()
    configuration.connection_pool_maxsize = POOL_SIZE
    # No retry after a read timeout: urllib3 would retry a hanging GET three times, four deadlines in all, before
    # the error is seen; the controller retries the whole cluster with backoff instead.
    configuration.retries = urllib3.util.Retry(total=2, read=0, status=0, redirect=0)
    return configuration


def _from_kubeconfig(cluster: Cluster, kubeconfig: Path | None, context: str) -> k8s.ApiClient:
    configuration = _configuration()
    try:
        k8s_config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context,
                                    client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ConnectionConfigError(
            f"cluster {cluster.name}: cannot use context {context!r} from kubeconfig {where}: {exc}. "
            "Pass --kubeconfig or set KUBECONFIG to a file that has this context"
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
    except (ConfigException, yaml.YAMLError, ValueError, TypeError) as exc:
        raise ConnectionConfigError(f"cluster {cluster.name}: {subject} key {ref.key!r} is not a usable "
                                    f"kubeconfig: {exc}") from exc
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
        except (ConfigException, OSError) as exc:
            raise ConnectionConfigError(f"cannot find the cluster holding kubeconfig Secrets: {exc}") from exc
    return k8s.ApiClient(configuration)
