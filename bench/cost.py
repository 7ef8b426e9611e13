"""What a command costs: wall time, CPU-seconds of the client (its rusage) and of kube-apiserver + etcd (read from
/proc of the server's processes), and the writes the API server counted. CPU-seconds do not depend on how busy
the machine is, wall time does."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from testenv import controlplane

KINDS = ("namespaces", "serviceaccounts", "roles", "rolebindings", "limitranges", "resourcequotas",
         "networkpolicies", "configmaps", "deployments")
_METRIC = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$')
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cost:
    wall: float
    client_cpu: float
    server_cpu: float
    writes: int

    @property
    def cpu(self) -> float:
        return self.client_cpu + self.server_cpu


def server_cpu(env: controlplane.TestEnv) -> float:
    """CPU-seconds so far of every kube-apiserver and etcd of the test environment."""
    total = 0.0
    for cluster in env.clusters.values():
        for name in (controlplane.APISERVER, controlplane.ETCD):
            fields = Path(f"/proc/{cluster.components[name].pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def writes(env: controlplane.TestEnv) -> int:
    total = 0
    for cluster in env.clusters.values():
        output = subprocess.run(["kubectl", "--kubeconfig", str(env.kubeconfig), "--context", cluster.context, "get",
                                 "--raw", "/metrics"], check=True, capture_output=True, text=True).stdout
        for line in output.splitlines():
            match = _METRIC.match(line)
            if not match:
                continue
            labels = {k: v.strip('"') for k, v in (p.split("=", 1) for p in match["labels"].split(","))}
            if labels.get("verb") in ("APPLY", "PATCH", "POST", "PUT", "DELETE") and \
                    labels.get("resource") in KINDS and labels.get("subresource", "") == "" and \
                    labels.get("dry_run", "") == "":
                total += int(float(match["value"]))
    return total


def measure(env: controlplane.TestEnv, command: list[str], environ: dict[str, str] | None = None) -> Cost:
    """``command`` run once; ``environ`` is added to this process's environment (PYTHONPATH for another
    revision's code)."""
    before_writes, before_server = writes(env), server_cpu(env)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **environ} if environ else None)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{stderr[-2000:]}")
    return Cost(wall, usage.ru_utime + usage.ru_stime, server_cpu(env) - before_server, writes(env) - before_writes)
