"""Where a cluster's endpoint comes from: a kubeconfig context, the in-cluster service account,
or a kubeconfig stored in a Secret. Each loader is called again by :class:`reconciler.kube.credentials.ApiSource`
after a 401 and on a schedule, so rotated credentials are picked up; each failure says which cluster, which file
(with line and column when its YAML is broken) and what to pass instead."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from reconciler.config.model import Cluster
from reconciler.kube import kubeconfig as kubeconfig_reader
from reconciler.kube import kubeconfig_check
from reconciler.kube.client import ClusterClient
from reconciler.kube.endpoint import POOL_SIZE, USER_AGENT, Endpoint, from_library
from reconciler.kube.errors import ConnectionConfigError, KubeError
from reconciler.kube.resources import SECRET

__all__ = ["POOL_SIZE", "USER_AGENT", "from_kubeconfig", "from_secret", "home_api", "in_cluster", "kubeconfig_files"]

# What reading a kubeconfig that is not YAML, or YAML of the wrong shape, raises (KubeconfigError and an exec
# plugin's ExecError are ValueErrors).
_UNUSABLE = (OSError, TypeError, ValueError, KeyError, AttributeError, IndexError, yaml.YAMLError)


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


def from_kubeconfig(cluster: Cluster, kubeconfig: Path | None, context: str) -> Endpoint:
    files = kubeconfig_files(kubeconfig)
    kubeconfig_check.check(cluster, files, context, explicit=kubeconfig is not None)
    try:
        return kubeconfig_reader.endpoint(kubeconfig_reader.read(files), context)
    except _UNUSABLE as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ConnectionConfigError(
            f"cluster {cluster.name}: cannot use context {context!r} from kubeconfig {_place(where, exc)}: "
            f"{_why(exc)}. Pass --kubeconfig or set KUBECONFIG to a file that has this context"
        ) from exc


def in_cluster(cluster: Cluster) -> Endpoint:
    endpoint = _service_account()
    if isinstance(endpoint, Exception):
        raise ConnectionConfigError(
            f"cluster {cluster.name}: connection inCluster needs the reconciler to run in a pod with a service "
            f"account token: {endpoint}"
        ) from endpoint
    return endpoint


def _service_account() -> Endpoint | Exception:
    """The pod's service account as the ``kubernetes`` package reads it (the controller's path; its token file
    re-read by the library's own hook), or why there is none. Outside a pod the library is not even imported."""
    if not os.environ.get("KUBERNETES_SERVICE_HOST") or not os.environ.get("KUBERNETES_SERVICE_PORT"):
        return kubeconfig_reader.KubeconfigError("Service host/port is not set.")
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    configuration = k8s.Configuration()
    configuration.connection_pool_maxsize = POOL_SIZE
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        return exc
    return from_library(configuration)


def from_secret(cluster: Cluster, home: ClusterClient) -> Endpoint:
    ref = cluster.connection.kubeconfig_secret
    assert ref is not None
    subject = f"Secret {ref.namespace}/{ref.name} (kubeconfig of cluster {cluster.name})"
    try:
        secret = home.request("GET", SECRET.object_path(ref.namespace, ref.name), f"get {subject}")
    except KubeError as exc:
        raise ConnectionConfigError(f"cluster {cluster.name}: cannot read {subject}: {exc}") from exc
    encoded = secret.get("data", {}).get(ref.key)
    if not encoded:
        raise ConnectionConfigError(f"cluster {cluster.name}: {subject} has no key {ref.key!r}")
    try:
        document: dict[str, Any] = yaml.safe_load(base64.b64decode(encoded))
        return kubeconfig_reader.endpoint(kubeconfig_reader.parse(document), ref.context)
    except _UNUSABLE as exc:
        raise ConnectionConfigError(f"cluster {cluster.name}: {subject} key {ref.key!r} is not a usable "
                                    f"kubeconfig: {_why(exc)}") from exc


def home_api(kubeconfig: Path | None) -> Endpoint:
    """The cluster the reconciler runs in: its service account, else the kubeconfig's current context."""
    endpoint = _service_account()
    if isinstance(endpoint, Endpoint):
        return endpoint
    try:
        return kubeconfig_reader.endpoint(kubeconfig_reader.read(kubeconfig_files(kubeconfig)))
    except _UNUSABLE as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ConnectionConfigError(f"cannot find the cluster holding kubeconfig Secrets in "
                                    f"{_place(where, exc)}: {_why(exc)}") from exc


def kubeconfig_files(kubeconfig: Path | None) -> list[Path]:
    if kubeconfig is not None:
        return [kubeconfig]
    listed = os.environ.get("KUBECONFIG")
    if listed:
        return [Path(item) for item in listed.split(os.pathsep) if item]
    return [Path.home() / ".kube" / "config"]
