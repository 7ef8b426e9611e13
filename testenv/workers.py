"""What makes pods run without kubelets: per cluster one kube-scheduler and one kwok.

The scheduler is the real one (same release as the API server) and binds pods to nodes by their selectors, taints
and free capacity; kwok plays the kubelets of the simulated nodes (``nodes.py``). Each gets its own identity:
the scheduler the one the bootstrap RBAC policy grants (``system:kube-scheduler``), kwok the admin group, since it
stands for every node's kubelet at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testenv import build, kubeconfig, kwok, users

SCHEDULER, KWOK = "kube-scheduler", "kwok"


@dataclass(frozen=True)
class Spec:
    name: str
    argv: list[str]
    log: Path
    health: str  # the /healthz URL that says it is up


def specs(
    cluster: str, home: Path, server: str, ca_file: Path, binaries: build.Binaries,
    identities: Mapping[str, users.User], ports: Mapping[str, int],
) -> list[Spec]:
    """Scheduler and kwok of one cluster, each with a kubeconfig of its own identity under ``home``."""
    def config(component: str, user: str) -> Path:
        return write_kubeconfig(home / f"{component}.kubeconfig", cluster, server, ca_file, user,
                                identities[user].token)

    scheduler, simulator = ports[SCHEDULER], ports[KWOK]
    return [
        Spec(SCHEDULER, scheduler_argv(binaries, config(SCHEDULER, users.SCHEDULER), home, scheduler),
             home / "logs" / f"{SCHEDULER}.log", f"https://127.0.0.1:{scheduler}/healthz"),
        Spec(KWOK, kwok_argv(binaries, config(KWOK, users.KWOK), simulator),
             home / "logs" / f"{KWOK}.log", f"http://127.0.0.1:{simulator}/healthz"),
    ]


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
