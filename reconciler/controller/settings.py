"""What ``reconciler run`` is told: the branch to follow, the clusters' credentials, leases, limits and secrets.

Built once from the command line (:mod:`reconciler.cli.run`); every field has the default of its flag, so a test or
an embedding builds one with only what it needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config.guardrails import Guardrails
from reconciler.controller.leases import LeaseSettings
from reconciler.errors import ReconcilerError
from reconciler.kube.fence import replica_identity
from reconciler.source.mirror import Remote


def default_workdir() -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / "reconciler"


def read_secret(path: Path | None, variable: str) -> str | None:
    """A secret from a file (trailing newline dropped) or, without one, from an environment variable."""
    if path is not None:
        try:
            return path.read_text().strip() or None
        except OSError as exc:
            raise ReconcilerError(f"cannot read the secret file {path}: {exc.strerror}") from exc
    return os.environ.get(variable) or None


@dataclass(frozen=True)
class Settings:
    repo: str
    branch: str = "main"
    path: str = ""
    interval: float = 30.0
    resync: float = 300.0
    cluster: str | None = None
    listen: str = ":8080"
    kubeconfig: Path | None = None
    contexts: tuple[str, ...] = ()  # --context [CLUSTER=]CONTEXT, applied to every revision's clusters
    workdir: Path = field(default_factory=default_workdir)
    leader_elect: bool = False
    lease_namespace: str = "reconciler-system"
    lease_cluster: str | None = None  # accepted and ignored: each cluster's Lease lives on that cluster
    lease_name: str | None = None
    lease_duration: float = 15.0
    identity: str = field(default_factory=replica_identity)
    max_backoff: float = 300.0
    git_token: str | None = field(default=None, repr=False)
    git_username: str | None = None
    ssh_key: Path | None = None
    known_hosts: Path | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    verify_signatures: Path | None = None  # an SSH allowed-signers file: only commits signed by its keys apply
    verify_gpg_keys: Path | None = None  # an exported GPG public keyring, the same for GPG-signed commits
    guardrails: Guardrails | None = None  # from --guardrails FILE; the clusters' own are read at start
    approvals: Path | None = None  # commits released from a risk hold by a person, outside git (hold_base)

    def remote(self) -> Remote:
        """The repository to follow, with the credentials to read it."""
        remote = Remote.parse(self.repo, self.branch, token=self.git_token, ssh_key=self.ssh_key,
                              known_hosts=self.known_hosts)
        if self.git_username:
            remote = Remote(remote.url, remote.branch, remote.token, self.git_username, remote.ssh_key,
                            remote.known_hosts)
        return remote

    def lease(self) -> LeaseSettings:
        """The Lease each cluster's leader holds: one name per installation (and per --cluster)."""
        name = self.lease_name or ("reconciler" + (f"-{self.cluster}" if self.cluster else ""))
        return LeaseSettings(self.lease_namespace, name, self.identity, self.lease_duration)

    def clusters_of(self, names: list[str]) -> list[str]:
        """The clusters this replica converges among ``names``: only its own with --cluster."""
        return [self.cluster] if self.cluster else sorted(names)
