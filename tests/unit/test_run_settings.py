"""`reconciler run`'s flags become the controller's Settings in one place: every flag reaches its field, a flag not
given keeps the field's default, and secrets come from their files (or the environment), never from the command
line."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from reconciler.cli import main as cli
from reconciler.cli import run as cli_run
from reconciler.controller.settings import Settings


def parsed(*argv: str) -> Settings:
    return cli_run.settings(cli._build_parser().parse_args(["run", *argv]))


def test_flags_not_given_keep_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_GIT_TOKEN", raising=False)
    monkeypatch.delenv("RECONCILER_WEBHOOK_SECRET", raising=False)
    settings = parsed("--repo", "https://git.example.com/ml/envs.git")
    default = Settings(repo="https://git.example.com/ml/envs.git", identity=settings.identity)
    assert settings == default
    assert settings.workdir == default.workdir and settings.git_token is None and settings.webhook_secret is None


def test_every_flag_reaches_its_field(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("ghp_from_the_file\n")
    (tmp_path / "hook").write_text("hook-secret")
    settings = parsed(
        "--repo", "git@git.example.com:ml/envs.git", "--branch", "release", "--path", "envs", "--interval", "45s",
        "--resync", "10m", "--cluster", "gpu", "--kubeconfig", "/etc/kube/config", "--context", "gpu=admin@gpu",
        "--listen", "127.0.0.1:9090", "--workdir", str(tmp_path / "work"), "--max-backoff", "2m", "--leader-elect",
        "--lease-namespace", "ops", "--lease-cluster", "shared", "--lease-name", "rec", "--lease-duration", "20s",
        "--git-token-file", str(tmp_path / "token"), "--git-username", "bot", "--ssh-key", "/keys/id",
        "--known-hosts", "/keys/known_hosts", "--webhook-secret-file", str(tmp_path / "hook"),
        "--verify-signatures", "/keys/allowed", "--verify-gpg-keys", "/keys/ring.asc", "--approvals", "/cfg/approved")
    assert settings == Settings(
        repo="git@git.example.com:ml/envs.git", branch="release", path="envs", interval=45.0, resync=600.0,
        cluster="gpu", listen="127.0.0.1:9090", kubeconfig=Path("/etc/kube/config"), contexts=("gpu=admin@gpu",),
        workdir=tmp_path / "work", leader_elect=True, lease_namespace="ops", lease_cluster="shared", lease_name="rec",
        lease_duration=20.0, identity=settings.identity, max_backoff=120.0, git_token="ghp_from_the_file",
        git_username="bot", ssh_key=Path("/keys/id"), known_hosts=Path("/keys/known_hosts"),
        webhook_secret="hook-secret", verify_signatures=Path("/keys/allowed"), verify_gpg_keys=Path("/keys/ring.asc"),
        approvals=Path("/cfg/approved"))
    assert settings.lease().name == "rec" and settings.lease().namespace == "ops"


def test_secrets_come_from_the_environment_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_GIT_TOKEN", "from-env")
    monkeypatch.setenv("RECONCILER_WEBHOOK_SECRET", "hook-from-env")
    settings = parsed("--repo", "https://git.example.com/ml/envs.git")
    assert (settings.git_token, settings.webhook_secret) == ("from-env", "hook-from-env")


def test_every_field_has_a_flag_of_its_name_or_is_derived() -> None:
    run = cli._build_parser().parse_args(["run", "--repo", "x"])
    missing = {field.name for field in fields(Settings)} - set(vars(run)) - cli_run.DERIVED - {"identity"}
    assert not missing, f"Settings fields no flag of `reconciler run` sets: {sorted(missing)}"
