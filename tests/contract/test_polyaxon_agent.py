"""The rendered agent, read by Polyaxon's own settings code: the configuration the agent would start with is the one
the repository describes (instance, control plane host, namespace, artifacts store, default scheduling, token)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import Landscape, load_landscape
from reconciler.config.model import Target
from reconciler.render import render_target
from reconciler.render.objects import Manifest
from tests.contract.kubelet_env import ContainerConfigError, container_environment
from tests.unit.conftest import SAMPLE_REPO

PROBE = Path(__file__).with_name("polyaxon_probe.py")
TOKEN = "token-of-the-agent"


@pytest.fixture(scope="module")
def landscape() -> Landscape:
    return load_landscape(SAMPLE_REPO)


def token_secret(target: Target) -> Manifest:
    """The Secret an operator makes outside git, as the README says: the token under POLYAXON_AUTH_TOKEN."""
    assert target.environment.agent is not None
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": target.environment.agent.token_secret.name, "namespace": target.namespace},
            "data": {"POLYAXON_AUTH_TOKEN": base64.b64encode(TOKEN.encode()).decode()}}


def agent_environment(target: Target, landscape: Landscape) -> dict[str, str]:
    objects = [*render_target(target, landscape), token_secret(target)]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    pod = {"metadata": {"namespace": target.namespace}, "spec": deployment["spec"]["template"]["spec"]}
    [container] = pod["spec"]["containers"]
    return container_environment(pod, container, objects)


def polyaxon_configs(python: Path, environments: list[dict[str, str]]) -> list[dict[str, Any]]:
    """What Polyaxon's settings code builds from each environment (one process, a fresh child per environment)."""
    done = subprocess.run([str(python), str(PROBE)], input=json.dumps(environments), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.strip().splitlines()[-len(environments):]]
    assert len(results) == len(environments), done.stdout[-2000:]
    return results


def expected(target: Target, landscape: Landscape) -> dict[str, Any]:
    """What the repository says, read from the resolved landscape rather than from the rendered objects."""
    agent = target.environment.agent
    assert agent is not None and agent.artifacts_store is not None
    store = agent.artifacts_store
    owner, _, uuid = agent.instance.split(".")
    pool = target.cluster.node_pools[agent.runs_node_pool] if agent.runs_node_pool else None
    scheduling = {"nodeSelector": pool.node_selector} if pool and pool.node_selector else {}
    if pool and pool.tolerations:
        scheduling["tolerations"] = [dict(t) for t in pool.tolerations]
    return {
        "agent_loaded": True, "host": landscape.platform.control_plane_host, "in_cluster": True, "token": TOKEN,
        "namespace": target.namespace, "instance": {"owner": owner, "uuid": uuid},
        "artifacts_store": {"name": store.name, "kind": store.provider, "schema": store.schema,
                            "secret": {"name": store.secret, "mountPath": store.mount_path}},
        "default_scheduling": scheduling or None, "agent_secret_name": agent.token_secret.name,
    }


def assert_matches(config: dict[str, Any], want: dict[str, Any]) -> None:
    assert "ok" in config, f"Polyaxon's settings code refused the agent's environment: {config.get('error')}"
    got = config["ok"]
    assert {key: got.get(key) for key in want} == want


KEYS = ("shared/ml-dev", "shared/ml-staging", "gpu/ml-prod")
# Each variable of the contract, misnamed as an easy mistake would: the check must then fail.
MISNAMED = {
    "POLYAXON_SET_AGENT": "POLYAXON_AGENT_ENABLED",
    "POLYAXON_HOST": "POLYAXON_PLATFORM_HOST",
    "POLYAXON_AGENT_INSTANCE": "POLYAXON_AGENT_ID",
    "POLYAXON_K8S_NAMESPACE": "POLYAXON_NAMESPACE",
    "POLYAXON_K8S_IN_CLUSTER": "POLYAXON_IN_CLUSTER",
    "POLYAXON_AGENT_ARTIFACTS_STORE": "POLYAXON_ARTIFACTS_STORE",
    "POLYAXON_AGENT_DEFAULT_SCHEDULING": "POLYAXON_DEFAULT_SCHEDULING",
    "POLYAXON_AUTH_TOKEN": "POLYAXON_AGENT_TOKEN",
    "POLYAXON_AGENT_SECRET_NAME": "POLYAXON_SECRET_NAME",
}


@pytest.fixture(scope="module")
def gpu_runs(tmp_path_factory: pytest.TempPathFactory) -> Landscape:
    """Another instance of the contract: prod's runs scheduled on the tainted A100 pool."""
    repo = tmp_path_factory.mktemp("gpu-runs") / "repo"
    subprocess.run(["cp", "-r", str(SAMPLE_REPO), str(repo)], check=True)
    prod = repo / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("    replicas: 2\n", "    replicas: 2\n    runsNodePool: a100\n"))
    return load_landscape(repo)


def _target(landscape: Landscape, key: str) -> Target:
    return next(t for t in landscape.targets if t.key == key)


@pytest.fixture(scope="module")
def readings(polyaxon_python: Path, landscape: Landscape, gpu_runs: Landscape) -> dict[str, dict[str, Any]]:
    """Polyaxon's reading of every environment the tests below look at, keyed by name."""
    environments = {key: agent_environment(_target(landscape, key), landscape) for key in KEYS}
    environments["gpu-runs"] = agent_environment(_target(gpu_runs, "gpu/ml-prod"), gpu_runs)
    for variable, wrong in MISNAMED.items():
        broken = dict(environments["gpu/ml-prod"])
        assert variable in broken
        broken[wrong] = broken.pop(variable)
        environments[f"misnamed {variable}"] = broken
    return dict(zip(environments, polyaxon_configs(polyaxon_python, list(environments.values())), strict=True))


@pytest.mark.parametrize("key", KEYS)
def test_polyaxon_builds_the_agent_configuration_the_repository_describes(
    readings: dict[str, dict[str, Any]], landscape: Landscape, key: str
) -> None:
    assert_matches(readings[key], expected(_target(landscape, key), landscape))


def test_prod_runs_take_the_gpu_pool_when_the_repository_says_so(
    readings: dict[str, dict[str, Any]], gpu_runs: Landscape
) -> None:
    assert_matches(readings["gpu-runs"], expected(_target(gpu_runs, "gpu/ml-prod"), gpu_runs))
    assert readings["gpu-runs"]["ok"]["default_scheduling"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


@pytest.mark.parametrize("variable", sorted(MISNAMED))
def test_the_check_fails_when_a_variable_of_the_contract_is_wrong(
    readings: dict[str, dict[str, Any]], landscape: Landscape, variable: str
) -> None:
    with pytest.raises(AssertionError):
        assert_matches(readings[f"misnamed {variable}"], expected(_target(landscape, "gpu/ml-prod"), landscape))


def test_a_token_secret_without_the_polyaxon_key_keeps_the_agent_from_starting(landscape: Landscape) -> None:
    target = next(t for t in landscape.targets if t.key == "shared/ml-dev")
    secret = token_secret(target)
    secret["data"] = {"token": secret["data"]["POLYAXON_AUTH_TOKEN"]}
    objects = [*render_target(target, landscape), secret]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    pod = {"metadata": {"namespace": target.namespace}, "spec": deployment["spec"]["template"]["spec"]}
    with pytest.raises(ContainerConfigError, match="couldn't find key POLYAXON_AUTH_TOKEN"):
        container_environment(pod, pod["spec"]["containers"][0], objects)
