"""examples/ci: the workflow's commands, run locally against a real environments repository and its origin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.unit.gitrepo import GIT_ENV, GitRepo

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
RECONCILER = Path(sys.executable).with_name("reconciler")


@pytest.fixture
def checkout(tmp_path: Path) -> GitRepo:
    """A pull request's checkout: the environments repository cloned from its origin, ci files installed."""
    upstream = GitRepo.create(tmp_path / "upstream")
    (upstream.root / "ci").mkdir()
    shutil.copy(EXAMPLES / "review.sh", upstream.root / "ci" / "review.sh")
    workflows = upstream.root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(EXAMPLES / "github-actions.yaml", workflows / "reconciler-plan.yaml")
    upstream.commit("change control")
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream.top), str(tmp_path / "origin.git")], check=True)
    subprocess.run(["git", "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "checkout")], check=True)
    repo = GitRepo(tmp_path / "checkout", tmp_path / "checkout")
    repo.git("checkout", "-q", "-b", "pull-request")
    return repo


def review(repo: GitRepo) -> tuple[int, str, str]:
    """What the workflow's plan step runs."""
    assert RECONCILER.exists(), f"{RECONCILER} is missing; install the package into the test's environment"
    environment = {**os.environ, **GIT_ENV, "BASE": "origin/main", "PLAN": "plan.md", "RECONCILER": str(RECONCILER)}
    completed = subprocess.run(["sh", "ci/review.sh", "."], cwd=repo.root, env=environment, capture_output=True,
                               text=True, timeout=120)
    plan = (repo.root / "plan.md").read_text(encoding="utf-8")
    return completed.returncode, plan, completed.stderr


def test_the_workflow_runs_the_review_script_against_the_target_branch() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yaml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["plan"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    plan = next(s for s in steps if s.get("id") == "plan")
    assert "sh ci/review.sh ." in plan["run"]
    assert plan["env"] == {"BASE": "origin/${{ github.base_ref }}", "PLAN": "plan.md"}
    assert any("--body-file plan.md" in s.get("run", "") for s in steps)
    assert workflow["permissions"]["pull-requests"] == "write"


def test_a_safe_change_passes_with_its_plan(checkout: GitRepo) -> None:
    checkout.replace("environments/dev.yaml", "role: edit", "role: view")
    checkout.commit("research only views dev")
    code, plan, _ = review(checkout)
    assert code == 0
    assert plan.startswith("### Reconciler diff\n\n`origin/main`")
    assert "**✅ Nothing blocks this change**" in plan
    assert "| **dev** | changed | 1 | 0 | 1 | — |" in plan


def test_a_blocking_change_fails_after_writing_its_plan(checkout: GitRepo) -> None:
    checkout.remove("environments/prod.yaml")
    checkout.commit("remove prod")
    code, plan, _ = review(checkout)
    assert code == 3
    assert "⛔ **block** `protected-removed`" in plan


def test_an_invalid_head_fails_with_its_errors_in_the_plan(checkout: GitRepo) -> None:
    checkout.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: many}")
    checkout.commit("broken")
    code, plan, err = review(checkout)
    assert code == 1
    assert "**The environments repository does not validate.**" in plan
    assert "environments/prod.yaml:" in plan and "environments/prod.yaml:" in err


def test_a_missing_base_branch_fails_with_the_reason(checkout: GitRepo) -> None:
    checkout.git("update-ref", "-d", "refs/remotes/origin/main")
    code, plan, _ = review(checkout)
    assert code == 1
    assert "**The plan could not be computed** (exit 1)" in plan and "git fetch" in plan
