"""`reconciler diff --kubeconfig`: a quota lowered below what the live cluster already uses blocks the change."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from kubernetes import client as k8s

from testenv import polling

from .support import admin_token, api_as_token, clients, edit, pod, pods_admitted, private_repo, run_cli

GIT = {**os.environ, "GIT_AUTHOR_NAME": "Platform Team", "GIT_AUTHOR_EMAIL": "platform@example.com",
       "GIT_COMMITTER_NAME": "Platform Team", "GIT_COMMITTER_EMAIL": "platform@example.com",
       "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def _git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=repo, env=GIT, check=True, capture_output=True)


def test_diff_reads_live_usage_and_blocks_a_quota_below_it(tmp_path: Path, kubeconfig: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "s")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "landscape")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 0
    gpu = clients(repo, kubeconfig)["gpu"]
    core = k8s.CoreV1Api(api_as_token(kubeconfig, "gpu", admin_token(kubeconfig)))
    pods_admitted(core, "s-prod")
    core.create_namespaced_pod("s-prod", pod("trainer", cpu="1", memory="1Gi", **{"nvidia.com/gpu": "3"}))

    def used() -> str | None:
        quota = gpu.get("ResourceQuota", "s-prod", "environment-quota") or {}
        return quota.get("status", {}).get("used", {}).get("requests.nvidia.com/gpu")

    polling.until(lambda: used() == "3", timeout=30, what="quota usage of s-prod to count the trainer's GPUs")

    edit(repo, "environments/prod.yaml", "gpu: 8", "gpu: 2")
    _git(repo, "commit", "-q", "-am", "halve prod gpus")
    capsys.readouterr()
    assert run_cli("diff", repo, "--base", "HEAD~1", "--kubeconfig", kubeconfig, "-o", "json") == 3
    document = json.loads(capsys.readouterr().out)
    assert document["liveUsage"] is True
    [finding] = [f for f in document["findings"] if f["rule"] == "quota-below-usage"]
    assert finding["target"] == "gpu/s-prod" and finding["severity"] == "block"

    edit(repo, "environments/prod.yaml", "gpu: 2", "gpu: 4")
    _git(repo, "commit", "-q", "-am", "keep enough for the running job")
    capsys.readouterr()
    run_cli("diff", repo, "--base", "HEAD~2", "--kubeconfig", kubeconfig, "-o", "json")
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "quota-below-usage" not in rules and "quota-lowered" in rules
