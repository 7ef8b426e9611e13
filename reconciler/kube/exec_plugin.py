"""A kubeconfig user's ``exec`` credential plugin (client.authentication.k8s.io): run it, read its ExecCredential,
and run it again once the token it issued expires (five minutes early, as the ``kubernetes`` package does)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger("reconciler.kube")
EARLY = timedelta(minutes=5)


class ExecError(ValueError):
    """The plugin could not be run or did not answer with a credential; the message says which and why."""


def run(spec: dict[str, Any], cwd: str, cluster: dict[str, Any]) -> dict[str, Any]:
    """The plugin's ``status``: a token, or client certificate and key data, and maybe an expiry."""
    for key in ("command", "apiVersion"):
        if key not in spec:
            raise ExecError(f"exec: malformed request. missing key {key!r}")
    interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    info: dict[str, Any] = {"apiVersion": spec["apiVersion"], "kind": "ExecCredential",
                            "spec": {"interactive": interactive}}
    if spec.get("provideClusterInfo"):
        info["spec"]["cluster"] = dict(cluster)
        for extension in cluster.get("extensions") or []:
            if extension.get("name") == "client.authentication.k8s.io/exec":
                info["spec"]["cluster"]["config"] = extension.get("extension")
                break
    env = {**os.environ, **{str(e["name"]): str(e["value"]) for e in spec.get("env") or []},
           "KUBERNETES_EXEC_INFO": json.dumps(info)}
    try:
        done = subprocess.run([str(spec["command"]), *map(str, spec.get("args") or [])], cwd=cwd or None, env=env,
                              stdout=subprocess.PIPE, stderr=None if interactive else subprocess.PIPE, text=True,
                              check=False)
    except OSError as exc:
        raise ExecError(f"exec: cannot run {spec['command']}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        said = (done.stderr or "").strip()
        raise ExecError(f"exec: process returned {done.returncode}" + (f". {said}" if said else ""))
    try:
        answer = json.loads(done.stdout)
    except ValueError as exc:
        raise ExecError(f"exec: failed to decode process output: {exc}") from exc
    if not isinstance(answer, dict) or not all(key in answer for key in ("apiVersion", "kind", "status")):
        raise ExecError("exec: malformed response: apiVersion, kind and status expected")
    if answer["apiVersion"] != spec["apiVersion"]:
        raise ExecError(f"exec: plugin api version {answer['apiVersion']} does not match {spec['apiVersion']}")
    status: dict[str, Any] = answer["status"]
    if "token" not in status and not ("clientCertificateData" in status and "clientKeyData" in status):
        raise ExecError("exec: the plugin's output has neither a token nor clientCertificateData and clientKeyData")
    return status


def expiry(status: dict[str, Any]) -> datetime | None:
    stamp = status.get("expirationTimestamp")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None


class ExecToken:
    """The bearer token of an exec plugin, issued again once it expires; a failed renewal keeps the last token."""

    def __init__(self, spec: dict[str, Any], cwd: str, cluster: dict[str, Any], status: dict[str, Any]) -> None:
        self._spec, self._cwd, self._cluster = spec, cwd, cluster
        self._lock = threading.Lock()
        self._token, self._expiry = str(status["token"]), expiry(status)

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._expiry is not None and self._expiry - EARLY <= datetime.now(UTC):
                try:
                    status = run(self._spec, self._cwd, self._cluster)
                    self._token, self._expiry = str(status["token"]), expiry(status)
                except (ExecError, KeyError) as exc:
                    log.warning("cannot renew the exec plugin's token; keeping the last one",
                                extra={"error": str(exc)})
            return {"authorization": f"Bearer {self._token}"}
