"""Credentials that rotate: the controller authenticates with ServiceAccount tokens read from kubeconfig
``tokenFile``s. The tokens are revoked (the ServiceAccount deleted and made again), so every cluster refuses them
(401) and /readyz turns unhealthy; new tokens written to the files are picked up within one retry interval, without
a restart. (The API servers' static token file is read only at their start, so TokenRequest tokens stand in.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Unauthorized
from testenv import polling

from ..support import api_as_token, clients
from .conftest import StartController
from .deployed import apply_deploy, service_account_token
from .harness import GitRemote, git

pytestmark = pytest.mark.integration

RETRY_SECONDS = 1.0  # --max-backoff: the longest wait between two attempts at a failing cluster
SERVICE_ACCOUNT = "/api/v1/namespaces/reconciler-system/serviceaccounts/reconciler"


def revoke(admin: ClusterClient, kubeconfig: Path, token: str) -> str:
    """Delete the ServiceAccount (its tokens die with it) and make it again; the server's words for the old token."""
    admin.request("DELETE", SERVICE_ACCOUNT, "delete the reconciler ServiceAccount")
    old = ClusterClient(admin.name, api_as_token(kubeconfig, admin.name, token))

    def refused() -> str | None:
        try:
            old.request("GET", "/api/v1/namespaces", "list namespaces with the revoked token")
        except Unauthorized as error:
            return str(error)
        return None

    denial = polling.until(refused, timeout=10, what=f"the revoked token refused by cluster {admin.name}")
    apply_deploy(admin)
    return str(denial)


def test_a_revoked_token_rotated_in_its_file_is_used_within_one_retry(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    admin = clients(remote.work, kubeconfig)
    config = json.loads(kubeconfig.read_text())
    config["users"], config["contexts"] = [], []
    token_files: dict[str, Path] = {}
    for name, client in sorted(admin.items()):
        apply_deploy(client)
        token_files[name] = tmp_path / f"{name}.token"
        token_files[name].write_text(service_account_token(client))
        config["users"].append({"name": f"reconciler@{name}", "user": {"tokenFile": str(token_files[name])}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": f"reconciler@{name}"}})
    rotating = tmp_path / "rotating.kubeconfig"
    rotating.write_text(json.dumps(config))
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", f"{RETRY_SECONDS}s",
                                  "--kubeconfig", rotating)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))

    for name, client in admin.items():
        denial = revoke(client, kubeconfig, token_files[name].read_text())
        print(f"\nthe revoked token on {name}: {denial}")
        assert "HTTP 401" in denial
    revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 3")
    controller.wait_for(lambda: all("HTTP 401" in (c["lastError"] or "")
                                    for c in controller.status()["clusters"].values()), 20,
                        "both clusters refusing the revoked tokens")
    unready = controller.wait_for(lambda: (lambda a: a if a and a[0] == 503 else None)(controller.get("/readyz")),
                                  25, "/readyz to fail while every cluster refuses the credentials")
    print("/readyz:", unready)
    assert "HTTP 401" in unready[1]

    rotated = time.monotonic()
    for name, client in admin.items():
        token_files[name].write_text(service_account_token(client))
    controller.wait_converged(revision, timeout=30)
    took = time.monotonic() - rotated
    print(f"converged {took:.1f}s after the tokens were rotated in their files (retry interval {RETRY_SECONDS}s)")
    assert took <= RETRY_SECONDS * 1.2 + 2.0, "not picked up within one retry interval"
    quota = admin["gpu"].get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "3"
    assert controller.get("/readyz") == (200, "ready\n")
    assert controller.running()
    assert controller.terminate() == 0
