"""Commands run side by side against several control planes, and what they cost together.

Wall time until the last command exits; CPU-seconds and peak resident memory of each command (its own rusage,
from wait4); CPU-seconds of every kube-apiserver and etcd (their /proc entries); the writes every API server
counted (apiserver_request_total). bench/cost.py measures one command the same way.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench import cost
from testenv import controlplane

MIB = 1024 * 1024


@dataclass(frozen=True)
class FleetCost:
    wall: float
    client_cpu: float
    server_cpu: float
    writes: int
    client_peak_rss: tuple[int, ...]  # bytes, one per command
    server_peak_rss: tuple[int, ...]  # bytes, one per cluster: its kube-apiserver's and etcd's peaks so far


def run_together(env: controlplane.TestEnv, commands: Sequence[list[str]]) -> FleetCost:
    """Start every command at once, wait for all; any failure stops the benchmark with that command's stderr."""
    before_writes, before_server = cost.writes(env), cost.server_cpu(env)
    with ExitStack() as stack:
        # stderr to files, not pipes: a command that fills its pipe while another is being waited for would hang.
        errors = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        start = time.perf_counter()
        started = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=error)
                   for command, error in zip(commands, errors, strict=True)]
        try:
            usages = [_wait(process) for process in started]
        except BaseException:  # a stopped benchmark leaves no reconciler behind
            for process in started:
                if process.returncode is None:
                    process.terminate()
                    process.wait()
            raise
        wall = time.perf_counter() - start
        failed = [f"failed ({process.returncode}): {' '.join(command)}\n{_tail(error)}"
                  for process, command, error in zip(started, commands, errors, strict=True) if process.returncode]
    if failed:
        raise SystemExit("\n".join(failed))
    return FleetCost(
        wall=wall,
        client_cpu=sum(u.ru_utime + u.ru_stime for u in usages),
        server_cpu=cost.server_cpu(env) - before_server,
        writes=cost.writes(env) - before_writes,
        client_peak_rss=tuple(u.ru_maxrss * 1024 for u in usages),  # Linux reports KiB
        server_peak_rss=server_peak_rss(env),
    )


def _wait(process: subprocess.Popen[bytes]) -> resource.struct_rusage:
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage


def _tail(error: IO[bytes]) -> str:
    error.seek(0)
    return error.read().decode(errors="replace")[-2000:]


def idle_server_cpu(env: controlplane.TestEnv, seconds: float = 10.0) -> float:
    """CPU-seconds per second the servers burn with no client at all (their own controllers, lease renewals):
    part of every phase's server CPU, the larger the longer the phase."""
    before = cost.server_cpu(env)
    time.sleep(seconds)
    return (cost.server_cpu(env) - before) / seconds


def server_peak_rss(env: controlplane.TestEnv) -> tuple[int, ...]:
    """Bytes per cluster: the peak resident sets (VmHWM) of its kube-apiserver and etcd, summed."""
    return tuple(sum(_peak_rss(cluster.components[name].pid) for name in (controlplane.APISERVER, controlplane.ETCD))
                 for cluster in env.clusters.values())


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def kubeconfig_for(env: controlplane.TestEnv, cluster: str, path: Path) -> Path:
    """A kubeconfig with the credentials of one cluster only: a reconciler per cluster holds no others."""
    config = json.loads(env.kubeconfig.read_text())
    config["contexts"] = [c for c in config["contexts"] if c["name"] == cluster]
    config["clusters"] = [c for c in config["clusters"] if c["name"] == cluster]
    config["current-context"] = cluster
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path
