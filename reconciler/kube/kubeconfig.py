"""A kubeconfig read into an :class:`~reconciler.kube.endpoint.Endpoint`, as the ``kubernetes`` package reads it but
without importing it: the files merged (the first to name a cluster, user or context wins), a context's cluster
(server, certificate-authority file or data, insecure-skip-tls-verify, tls-server-name, proxy-url) and user (token,
tokenFile, client certificate and key files or data, an exec plugin, username and password). Relative paths are
relative to the file that names them. A user with an ``auth-provider`` (gcp, azure, oidc) is left to the library,
whose refreshing providers this module does not copy."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.kube.endpoint import POOL_SIZE, Credential, Endpoint, Static, from_library


class KubeconfigError(ValueError):
    """The kubeconfig lacks what a context needs; the message names the entry and the key."""


@dataclass(frozen=True)
class Entry:
    value: dict[str, Any]  # the entry's body (its "cluster", "user" or "context" mapping)
    base: str  # the folder of the file that holds it: relative paths start there


@dataclass
class Kubeconfig:
    clusters: dict[str, Entry] = field(default_factory=dict)
    users: dict[str, Entry] = field(default_factory=dict)
    contexts: dict[str, Entry] = field(default_factory=dict)
    current: str | None = None
    sources: tuple[Path, ...] = ()  # the files, for the library when a user has an auth-provider
    document: dict[str, Any] | None = None  # or the one document given as a value


def read(files: Sequence[Path]) -> Kubeconfig:
    """The merged kubeconfig of the ``files`` that exist."""
    merged = Kubeconfig(sources=tuple(path for path in files if path.exists()))
    for path in merged.sources:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document is None:
            raise KubeconfigError(f"the file {path} is empty")
        _merge(merged, document, str(path.absolute().parent))  # a symlink's own folder, as in the library
    return merged


def parse(document: Any) -> Kubeconfig:
    """A kubeconfig given as a value (a Secret's), whose relative paths are relative to the working folder."""
    if not document:
        raise KubeconfigError("it is empty")
    merged = Kubeconfig(document=document)
    _merge(merged, document, "")
    return merged


def _merge(merged: Kubeconfig, document: dict[str, Any], base: str) -> None:
    for key, named in (("clusters", merged.clusters), ("users", merged.users), ("contexts", merged.contexts)):
        for item in document.get(key) or []:
            if "name" not in item:
                raise KubeconfigError(f"an entry of {key} has no name")
            body = item.get(key[:-1])
            named.setdefault(str(item["name"]), Entry(body if isinstance(body, dict) else {}, base))
    if "current-context" in document:
        merged.current = document["current-context"]


def endpoint(config: Kubeconfig, context: str | None = None) -> Endpoint:
    """How ``context`` (default: the current context) reaches its API server."""
    name = context if context is not None else config.current
    if not name or name not in config.contexts:
        raise KubeconfigError(f"there is no context {name!r}" if name else "no context is given and none is current")
    chosen = config.contexts[name].value
    cluster_name, user_name = chosen.get("cluster"), chosen.get("user")
    if cluster_name not in config.clusters:
        raise KubeconfigError(f"context {name!r} names cluster {cluster_name!r}, which is not in its clusters")
    cluster = config.clusters[cluster_name]
    user = config.users.get(str(user_name)) if user_name else None
    if user is not None and "auth-provider" in user.value:
        return _library(config, name)
    if "server" not in cluster.value:
        raise KubeconfigError(f"cluster {cluster_name!r} has no server")
    host = str(cluster.value["server"]).rstrip("/")
    credential, exec_files = _credential(user, cluster)
    ca = cert = key = None
    if host.startswith("https"):
        ca = _file_or_data(cluster.value, "certificate-authority", cluster.base)
        cert, key = exec_files or (_file_or_data(user.value if user else {}, "client-certificate", cluster.base),
                                   _file_or_data(user.value if user else {}, "client-key", cluster.base))
    verify = not cluster.value.get("insecure-skip-tls-verify", False)
    return Endpoint(host, ca, cert, key, verify, cluster.value.get("tls-server-name"),
                    cluster.value.get("proxy-url"), credential)


def _credential(user: Entry | None, cluster: Entry) -> tuple[Credential, tuple[str, str] | None]:
    """The user's credential in the library's order: token (or tokenFile), exec plugin, username and password;
    with the client certificate files an exec plugin issued instead of a token."""
    if user is None:
        return Static(), None
    body = user.value
    # A token given (even empty) wins over a tokenFile, which is read only when there is no token key at all.
    token = body["token"] if "token" in body else (_read(body["tokenFile"], user.base) if body.get("tokenFile")
                                                   else None)
    if token:
        return Static(f"Bearer {token}"), None
    if "exec" in body:
        from reconciler.kube import exec_plugin  # a subprocess, for the users that have a plugin only

        status = exec_plugin.run(body["exec"], cluster.base, cluster.value)
        if "token" in status:
            if exec_plugin.expiry(status) is None:
                return Static(f"Bearer {status['token']}"), None
            return exec_plugin.ExecToken(body["exec"], cluster.base, cluster.value, status), None
        return Static(), (_private_file(str(status["clientCertificateData"]).encode()),
                          _private_file(str(status["clientKeyData"]).encode()))
    if "username" in body and "password" in body:
        pair = f"{body['username']}:{body['password']}".encode()
        return Static(f"Basic {base64.b64encode(pair).decode()}"), None
    return Static(), None


def _read(path: str, base: str) -> str:
    return Path(os.path.normpath(os.path.join(base, path))).read_text(encoding="utf-8")


def _file_or_data(body: dict[str, Any], key: str, base: str) -> str | None:
    """The file ``key`` names, or ``key-data`` (base64) written to a private file; data wins, as in the library."""
    data = body.get(f"{key}-data")
    if data:
        return _private_file(base64.standard_b64decode(data))
    if not body.get(key):
        return None
    path = os.path.normpath(os.path.join(base, str(body[key])))
    if not os.path.isfile(path):
        raise KubeconfigError(f"{key} {path} does not exist")
    return path


_written: dict[str, str] = {}  # a content's digest -> its file
_folder: list[str] = []  # the private folder of those files, made when the first is written


def _private_file(content: bytes) -> str:
    """A file only this user can read holding ``content``, one per content, removed when the process ends."""
    import atexit
    import hashlib
    import shutil
    import tempfile

    digest = hashlib.sha256(content).hexdigest()
    if digest not in _written or not os.path.isfile(_written[digest]):
        if not _folder or not os.path.isdir(_folder[0]):
            _folder[:] = [tempfile.mkdtemp(prefix="reconciler-tls-")]
            atexit.register(shutil.rmtree, _folder[0], True)
        descriptor, name = tempfile.mkstemp(dir=_folder[0])
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        _written[digest] = name
    return _written[digest]


def _library(config: Kubeconfig, context: str) -> Endpoint:
    """An auth-provider user, read by the ``kubernetes`` package (imported only for it)."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    configuration = k8s.Configuration()
    configuration.connection_pool_maxsize = POOL_SIZE
    try:
        if config.document is not None:
            k8s_config.load_kube_config_from_dict(config.document, context=context,
                                                  client_configuration=configuration, persist_config=False)
        else:
            k8s_config.load_kube_config(config_file=os.pathsep.join(map(str, config.sources)), context=context,
                                        client_configuration=configuration, persist_config=False)
    except ConfigException as exc:
        raise KubeconfigError(str(exc)) from exc
    return from_library(configuration)
