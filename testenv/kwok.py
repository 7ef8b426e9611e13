"""kwok (sigs.k8s.io/kwok): simulated nodes and pod lifecycles, so the real scheduler has somewhere to put pods.

kwok is built from its own Go module (its Kubernetes libraries differ from the control plane's, so it cannot share
``testenv/go.mod``) into a cache of its own, ``$XDG_CACHE_HOME/reconciler/kwok-<version>/``, with the Stage
definitions that ship in its module (``kustomize/stage/``): without Stages kwok changes nothing. The ones kept here
make a node Ready and keep its lease, and move a bound pod to Running and Ready, a finished one to its end, and a
deleted one out of the API (there is no kubelet to do it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

VERSION = "v0.8.0"
MODULE = "sigs.k8s.io/kwok"
PACKAGE = f"{MODULE}/cmd/kwok@{VERSION}"
STAMP = ".complete"
STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
# Nodes kwok manages carry this annotation; nodes without it are left alone.
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODE_ANNOTATION_VALUE = "fake"
LEASE_SECONDS = 40  # as a kubelet's default node lease

GoRunner = Callable[[str, list[str], Path, dict[str, str]], None]  # name, argv, cwd, extra environment


@dataclass(frozen=True)
class Kwok:
    binary: Path
    stages: Path  # one YAML file with every Stage


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reconciler" / f"kwok-{VERSION}"


def find() -> Kwok | None:
    directory = cache_dir()
    found = Kwok(directory / "kwok", directory / "stages.yaml")
    if (directory / STAMP).is_file() and found.binary.is_file() and found.stages.is_file():
        return found
    return None


def build(go: str, run: GoRunner, log: Callable[[str], None]) -> Kwok:
    """`go install` kwok at the pinned version into the cache and gather its Stages; the caller holds the lock."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log(f"building kwok ({PACKAGE}) into {directory}")
    # Run outside any module: `go install pkg@version` then builds kwok with kwok's own go.mod and go.sum.
    run("kwok", [go, "install", "-v", PACKAGE], staging, {"GOBIN": str(staging), "GOFLAGS": "-buildvcs=false"})
    module = _module_dir(go, directory)
    stages = "".join(f"---\n{(module / 'kustomize' / 'stage' / path).read_text()}" for path in STAGES)
    (staging / "stages.yaml").write_text(stages)
    os.replace(staging / "kwok", directory / "kwok")
    os.replace(staging / "stages.yaml", directory / "stages.yaml")
    staging.rmdir()
    (directory / STAMP).write_text(json.dumps({"kwok": VERSION, "stages": list(STAGES)}, indent=2) + "\n")
    found = find()
    assert found is not None
    return found


def argv(found: Kwok, kubeconfig: Path, server_port: int) -> list[str]:
    """kwok for one cluster: only the nodes annotated as its own, the cached Stages, no user configuration."""
    return [
        str(found.binary), f"--kubeconfig={kubeconfig}", f"--config={found.stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}={NODE_ANNOTATION_VALUE}",
        f"--node-lease-duration-seconds={LEASE_SECONDS}", "--cidr=10.0.0.0/16",
        "--node-ip=127.0.0.1", f"--server-address=127.0.0.1:{server_port}",
    ]  # fmt: skip


def _module_dir(go: str, directory: Path) -> Path:
    """kwok's module source in the Go module cache, where `go install` just put it."""
    result = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, cwd=directory, check=True)
    return Path(result.stdout.strip()) / f"{MODULE}@{VERSION}"
