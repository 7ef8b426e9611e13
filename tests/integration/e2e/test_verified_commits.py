"""`reconciler run --verify-signatures/--verify-gpg-keys`: only commits signed by a listed key reach the clusters.

The controller runs as a real process against the session's API servers; commits are signed in the test with keys
made by ssh-keygen and gpg, and pushed to a real bare repository.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.kube.client import ClusterClient

from ...signing import Keys, SigningKey, keys
from ..support import clients
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration

HELD_LOG = "commit is not signed by a listed key: held, nothing from it is applied"


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Keys]:
    with keys(tmp_path / "keys") as made_keys:
        yield made_keys


def _gpu_quota(remote: GitRemote, gpu: ClusterClient) -> str:
    quota = gpu.get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    assert quota is not None
    return str(quota["spec"]["hard"]["requests.nvidia.com/gpu"])


def _commit_and_push(remote: GitRemote, made: Keys, old: str, new: str, key: SigningKey | None) -> str:
    path = remote.work / "environments/prod.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    commit = made.commit(remote.work, f"prod gpu quota {new}", key)
    git(remote.work, "push", "--quiet", "origin", f"HEAD:{remote.branch}")
    return commit


def test_only_commits_signed_by_a_listed_key_are_applied(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, made: Keys
) -> None:
    alice, mallory, bob = made.ssh("alice"), made.ssh("mallory"), made.gpg("bob")
    signed = _commit_and_push(remote, made, "gpu: 8", "gpu: 7", alice)
    controller = start_controller("--repo", remote.url, "--interval", "0.5s", "--kubeconfig", kubeconfig,
                                  "--verify-signatures", made.allowed_signers(alice),
                                  "--verify-gpg-keys", made.export(bob))
    controller.wait_converged(signed)
    gpu = clients(remote.work, kubeconfig)["gpu"]
    assert _gpu_quota(remote, gpu) == "7"
    assert controller.status()["source"]["signatures"]["lastVerified"]["signer"] == "alice@example.com"

    unsigned = _commit_and_push(remote, made, "gpu: 7", "gpu: 1", None)
    held = controller.wait_for(lambda: _held(controller.status(), unsigned), 30, "the unsigned commit held")
    assert held["reason"] == "unsigned" and held["signer"] is None and held["keptRevision"] == signed
    assert held["message"].startswith(f"commit {unsigned[:12]} is held: unsigned (no signature); sign it")

    foreign = _commit_and_push(remote, made, "gpu: 1", "gpu: 2", mallory)
    held = controller.wait_for(lambda: _held(controller.status(), foreign), 30, "the unknown signer held")
    assert held["reason"] == "unknown-key" and held["key"].startswith("SHA256:")
    time.sleep(1.5)  # three more polls: nothing from the held commits is applied, the last good one stays
    status = controller.status()
    assert status["revision"] == signed
    assert {name: c["revision"] for name, c in status["clusters"].items()} == {"gpu": signed, "shared": signed}
    assert _gpu_quota(remote, gpu) == "7"
    metrics = controller.metrics()
    assert metrics['reconciler_revisions_held_total{cause="signature",reason="unsigned"}'] == 1
    assert metrics['reconciler_revisions_held_total{cause="signature",reason="unknown-key"}'] == 1
    logged = [entry["revision"] for entry in controller.logs() if entry["message"] == HELD_LOG]
    assert logged == [unsigned, foreign], "each held commit is logged once"

    on_top = _commit_and_push(remote, made, "gpu: 2", "gpu: 3", bob)
    held = controller.wait_for(lambda: _held(controller.status(), on_top), 30, "the signed commit on top held")
    assert held["commit"] in (unsigned, foreign)
    assert f"commit {on_top[:12]} is held: it brings commit" in held["message"]
    assert controller.status()["revision"] == signed, "a signed tip does not vouch for the commits it brings"

    git(remote.work, "reset", "--quiet", "--soft", signed)  # the held changes rewritten as one signed commit
    gpg_signed = made.commit(remote.work, "prod gpu quota 3, signed", bob)
    git(remote.work, "push", "--quiet", "--force", "origin", f"HEAD:{remote.branch}")
    controller.wait_converged(gpg_signed, timeout=30)
    assert _gpu_quota(remote, gpu) == "3"
    status = controller.status()
    assert status["heldRevision"] is None
    assert status["source"]["signatures"]["lastVerified"]["key"] == bob.key
    assert controller.terminate() == 0


def _held(status: dict[str, object], commit: str) -> dict[str, str] | None:
    held = status.get("heldRevision")
    return held if isinstance(held, dict) and held.get("revision") == commit else None
