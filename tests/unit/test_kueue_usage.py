"""Kueue's admitted usage against a changed nominal quota: the quota-below-usage risk."""

from __future__ import annotations

from typing import Any

from reconciler.config import Landscape
from reconciler.plan import diff
from reconciler.policy import kueue_usage
from tests.unit.config.test_kueue import KUEUE_PLATFORM, environment
from tests.unit.conftest import Repo


def landscape(repo: Repo, gpus: int) -> Landscape:
    repo.write("platform.yaml", KUEUE_PLATFORM)
    repo.write("environments/prod.yaml", environment("prod", f"{{cpu: {{cpu: '8'}}, a100: {{gpu: {gpus}, cpu: '8'}}}}"))
    (repo.root / "environments/dev.yaml").unlink(missing_ok=True)
    return repo.landscape()


def live_queue(total: str, borrowed: str = "0") -> dict[str, Any]:
    return {"metadata": {"name": "test-platform-prod"},
            "status": {"flavorsUsage": [
                {"name": "test-platform-a100", "resources": [{"name": "nvidia.com/gpu", "total": total,
                                                             "borrowed": borrowed}]},
                {"name": "test-platform-cpu", "resources": [{"name": "cpu", "total": "2500m", "borrowed": "0"}]},
            ]}}


def test_usage_is_read_per_target_and_pool_without_what_was_borrowed(repo: Repo) -> None:
    head = landscape(repo, 4)
    usage = kueue_usage.usage_from_cluster_queues("gpu", head, [live_queue("3", "1")])
    assert usage == {"gpu/ml-prod": {"kueue:a100/nvidia.com/gpu": "2", "kueue:cpu/cpu": "2.5"}}


def test_a_nominal_quota_lowered_below_admitted_usage_blocks_and_one_above_it_does_not(repo: Repo) -> None:
    base = landscape(repo, 4)
    usage = kueue_usage.usage_from_cluster_queues("gpu", base, [live_queue("3")])
    lowered = landscape(repo, 2)
    _, findings = diff.assess_change(base, lowered, usage)
    [finding] = [f for f in findings if f.rule == "quota-below-usage"]
    assert finding.target == "gpu/ml-prod" and finding.severity == "block"
    assert "nvidia.com/gpu on a100 2 < 3 admitted within its own quota" in finding.reason
    assert "Kueue evicts nothing" in finding.reason
    enough = landscape(repo, 3)
    _, findings = diff.assess_change(base, enough, usage)
    assert not [f for f in findings if f.rule == "quota-below-usage"]
