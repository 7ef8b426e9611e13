"""Golden output of `reconciler plan` (text, Markdown, JSON) against the real API servers of the session.

Three plans of one private copy of sample-repo (namespaces ``golden-*``), each in every output format:

- ``first``: nothing is on the clusters yet, every object is a create;
- ``changes``: after an apply, git lowers prod's GPU quota (an update), drops a team from dev (a delete of its
  RoleBinding), removes staging (its objects orphaned: the default removal policy) and adds an environment qa whose
  namespace someone else made (a conflict that refuses the target);
- ``refusals``: the same repository without qa, where dev also loses its agent and every team (a mass deletion,
  refused) and prod is frozen (its update held).

The files are tests/integration/golden/plan-<plan>.<txt|md|json>. What varies from run to run (ports and
addresses of the API servers) is replaced in one place, ``_stable``. After an intended change to plan output or to
sample-repo, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/integration/test_plan_golden.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reconciler.kube.client import ClusterClient

from .support import SAMPLE, clients, edit, private_repo, run_cli

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}
# Always closed, whatever the day the suite runs: a freeze with no end in sight holds every change of prod.
FREEZE = ("  changeWindows:\n    - environments: [prod]\n      freeze:\n"
          "        - {from: \"2020-01-01\", to: \"2999-12-31\", reason: golden files}\n")
QA = """apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata:
  name: qa
spec:
  extends: [standard]
  targets:
    - {cluster: shared, namespace: golden-qa}
  access:
    - {team: research, role: edit}
  agent:
    instance: ml-platform.agents.0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d
"""

Plans = dict[str, dict[str, tuple[int, str]]]


def _stable(output: str) -> str:
    """The one place that strips what varies between runs: the API servers' addresses (free ports). Plan output
    holds no times, UIDs or resourceVersions; should one appear, it is replaced here, not in the golden files."""
    return re.sub(r"(https?://)?127\.0\.0\.1:\d+", "https://127.0.0.1:PORT", output)


def _plan_all_formats(repo: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[int, str]]:
    shown = {}
    for output in FORMATS:
        capsys.readouterr()
        code = run_cli("plan", repo, "--kubeconfig", kubeconfig, "-o", output)
        captured = capsys.readouterr()
        assert captured.out, f"plan -o {output} printed no plan: {captured.err}"
        # stderr is left out: it notes the clusters' guardrails, which are not plan output
        shown[output] = (code, _stable(captured.out))
    return shown


def _install_agent_role(cluster: dict[str, ClusterClient]) -> None:
    """The installation's ClusterRole for agents on both clusters, as deploy/ installs it: without it, each plan
    warns that the agents' bindings grant nothing, or not, depending on which tests ran before."""
    role = yaml.safe_load((SAMPLE.parent / "deploy" / "agent-role.yaml").read_text())
    for client in cluster.values():
        client.request("PATCH", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}",
                       "install agent role", query={"fieldManager": "test-admin", "force": "true"}, body=role,
                       content_type="application/apply-patch+yaml")


def _changes(repo: Path, kubeconfig: Path) -> None:
    edit(repo, "environments/prod.yaml", "gpu: 8", "gpu: 4")
    edit(repo, "environments/dev.yaml", "    - {team: vision, role: edit}\n", "")
    (repo / "environments" / "staging.yaml").unlink()
    (repo / "environments" / "qa.yaml").write_text(QA)
    clients(repo, kubeconfig)["shared"].request(
        "POST", "/api/v1/namespaces", "create namespace",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "golden-qa"}})


def _refusals(repo: Path) -> None:
    (repo / "environments" / "qa.yaml").unlink()
    # Without its agent and a team, dev keeps 4 of its objects: more deletions than massDeletePercent allows.
    edit(repo, "environments/dev.yaml", "  agent:\n", "  agent:\n    enabled: false\n")
    edit(repo, "environments/dev.yaml", "  access:\n    - {team: research, role: edit}\n", "  access: []\n")
    edit(repo, "platform.yaml", "  massDeletePercent: 25\n", "  massDeletePercent: 25\n" + FREEZE)


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory, kubeconfig: Path) -> Callable[..., Plans]:
    """The three plans, made once for the module (each needs the clusters as the previous left them)."""
    made: Plans = {}
    _install_agent_role(clients(private_repo(tmp_path_factory.mktemp("agent-role"), "golden"), kubeconfig))

    def get(capsys: pytest.CaptureFixture[str]) -> Plans:
        if made:
            return made
        repo = private_repo(tmp_path_factory.mktemp("plan-golden"), "golden")
        made["first"] = _plan_all_formats(repo, kubeconfig, capsys)
        assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
        _changes(repo, kubeconfig)
        made["changes"] = _plan_all_formats(repo, kubeconfig, capsys)
        _refusals(repo)
        made["refusals"] = _plan_all_formats(repo, kubeconfig, capsys)
        return made

    return get


EXIT_CODES = {"first": 2, "changes": 1, "refusals": 1}  # pending; a refused target is an error of the plan


@pytest.mark.parametrize("output", FORMATS)
@pytest.mark.parametrize("plan", EXIT_CODES)
def test_plan_output_matches_the_golden_file(plans: Callable[..., Plans], capsys: pytest.CaptureFixture[str],
                                             plan: str, output: str) -> None:
    code, shown = plans(capsys)[plan][output]
    assert code == EXIT_CODES[plan]
    golden = GOLDEN / f"plan-{plan}.{FORMATS[output]}"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(shown, encoding="utf-8")
    assert shown == golden.read_text(encoding="utf-8"), (
        f"plan {plan} -o {output} differs from {golden.name}; if the change is intended, run "
        f"UPDATE_GOLDEN=1 pytest {Path(__file__).name}")
