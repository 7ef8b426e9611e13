"""What makes pods run without kubelets: per cluster one kube-scheduler and one kwok.

The scheduler is the real one (same release as the API server) and binds pods to nodes by their selectors, taints
and free capacity; kwok plays the kubelets of the simulated nodes (``nodes.py``). Each gets its own identity:
the scheduler the one the bootstrap RBAC policy grants (``system:kube-scheduler``), kwok the admin group, since it
stands for every node's kubelet at once.
"""

from __future__ import annotations

from pathlib import Path

from testenv import build, kubeconfig, kwok

SCHEDULER, KWOK = "kube-scheduler", "kwok"


def scheduler_argv(binaries: build.Binaries, config: Path, home: Path, port: int) -> list[str]:
    assert binaries.kube_scheduler is not None
    return [
        str(binaries.kube_scheduler), f"--kubeconfig={config}",
        f"--authentication-kubeconfig={config}", f"--authorization-kubeconfig={config}",
        "--authentication-skip-lookup=true", "--bind-address=127.0.0.1", f"--secure-port={port}",
        f"--cert-dir={home / 'pki'}", "--leader-elect=false",
    ]  # fmt: skip


def kwok_argv(binaries: build.Binaries, config: Path, port: int) -> list[str]:
    assert binaries.kwok is not None
    return kwok.argv(binaries.kwok, config, port)


def write_kubeconfig(path: Path, cluster: str, server: str, ca_file: Path, user: str, token: str) -> Path:
    kubeconfig.write(path, [kubeconfig.Endpoint(cluster, server, ca_file)], {user: token}, context_user=user)
    return path
