"""The controller as a real process holds a commit that lowers prod's GPU nominal quota below what Kueue has
admitted (the Platform sets quota-below-usage to block), and applies the later commit that resolves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testenv import build, controlplane, kueue

from ..conftest import ClientFactory
from ..support import clients
from ..test_kueue import admitted, gpu_usage, submit, with_kueue
from .conftest import StartController
from .harness import GitRemote

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kueue_on_gpu(control_plane: controlplane.TestEnv) -> Iterator[kueue.Running]:
    try:
        running = kueue.start(control_plane, "gpu", build.ensure_kueue())
    except Exception as error:
        pytest.fail(f"Kueue did not start next to cluster gpu ({type(error).__name__}): {error}", pytrace=False)
    yield running
    kueue.stop(running)


def nominal_gpus(queue: dict[str, Any] | None, flavor: str) -> str:
    assert queue is not None, "prod's ClusterQueue is missing"
    return next(str(r["nominalQuota"]) for group in queue["spec"]["resourceGroups"] for f in group["flavors"]
                if f["name"] == flavor for r in f["resources"] if r["name"] == "nvidia.com/gpu")


def test_a_gpu_quota_lowered_below_admitted_usage_is_held_until_a_commit_resolves_it(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, api_client: ClientFactory,
    kueue_on_gpu: kueue.Running,
) -> None:
    assert "quota-below-usage: block" in (remote.work / "platform.yaml").read_text()
    with_kueue(remote.work, remote.prefix)
    first = remote.commit("quotas enforced by Kueue too")
    namespace, queue, flavor = f"{remote.prefix}-prod", f"platform-{remote.prefix}-prod", \
        f"platform-{remote.prefix}-a100"
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    controller.wait_converged(first, clusters=("gpu",))
    gpu = clients(remote.work, kubeconfig)["gpu"]
    api = api_client("gpu")
    job = submit(api, namespace, "uses-both-gpus", 2)  # admitted, its pod finds no node: the GPUs stay admitted
    controller.wait_for(lambda: admitted(api, namespace, job), 60, "Kueue to admit the 2-GPU job")
    # The rule judges what the ClusterQueue reports, which Kueue updates a moment after admitting.
    controller.wait_for(lambda: gpu_usage(gpu, queue, flavor).get("total") == "2", 30,
                        "prod's ClusterQueue to report 2 GPUs admitted")

    held = remote.edit("environments/prod.yaml", "a100: {gpu: 2,", "a100: {gpu: 1,")
    status = controller.wait_for(lambda: (s := controller.status())["heldRevision"] and s, 30, "the hold")
    assert status["heldRevision"]["revision"] == held
    findings = status["heldRevision"]["findings"]
    assert any(f.startswith(f"quota-below-usage (prod, gpu/{namespace}")
               and "nvidia.com/gpu on a100 1 < 2 admitted within its own quota" in f for f in findings), findings
    assert nominal_gpus(gpu.get("ClusterQueue", None, queue), flavor) == "2"

    good = remote.edit("environments/prod.yaml", "a100: {gpu: 1,", "a100: {gpu: 3,")
    controller.wait_converged(good, clusters=("gpu",))
    assert nominal_gpus(gpu.get("ClusterQueue", None, queue), flavor) == "3"
    assert controller.status()["heldRevision"] is None
    assert controller.terminate() == 0
