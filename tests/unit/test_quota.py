"""Quota usage read from ResourceQuota status: what the bars, `reconciler status` and the gauges show."""

from __future__ import annotations

from reconciler.plan import quota


def resource_quota(namespace: str, hard: dict[str, str], used: dict[str, str] | None) -> dict[str, object]:
    status = {"hard": hard, "used": used} if used is not None else {}
    return {"metadata": {"namespace": namespace}, "spec": {"hard": hard}, "status": status}


def test_usage_is_the_status_the_server_counts_for_cpu_memory_and_gpus_only() -> None:
    found = quota.usage_of(resource_quota("ml-prod", {"requests.cpu": "64", "requests.memory": "256Gi",
                                                      "requests.nvidia.com/gpu": "8", "pods": "100"},
                                          {"requests.cpu": "2200m", "requests.memory": "4608Mi",
                                           "requests.nvidia.com/gpu": "3", "pods": "3"}))
    assert found == {"cpu": {"used": "2200m", "hard": "64"}, "memory": {"used": "4608Mi", "hard": "256Gi"},
                     "gpu": {"used": "3", "hard": "8"}}


def test_a_quota_not_counted_yet_has_its_limits_and_an_unknown_usage() -> None:
    found = quota.usage_of(resource_quota("ml-dev", {"requests.cpu": "16"}, None))
    assert found == {"cpu": {"used": None, "hard": "16"}}
    assert quota.share(found["cpu"]) is None
    assert quota.shown("cpu", found["cpu"]["used"]) == "?"


def test_totals_add_exact_quantities_and_stay_unknown_if_one_part_is() -> None:
    dev = {"cpu": {"used": "350m", "hard": "16"}, "memory": {"used": "768Mi", "hard": "64Gi"}}
    prod = {"cpu": {"used": "2200m", "hard": "64"}, "memory": {"used": "4.5Gi", "hard": "256Gi"},
            "gpu": {"used": "3", "hard": "8"}}
    assert quota.total([dev, prod]) == {"cpu": {"used": "2.55", "hard": "80"},
                                        "memory": {"used": "5.25Gi", "hard": "320Gi"},
                                        "gpu": {"used": "3", "hard": "8"}}
    assert quota.total([dev, {"cpu": {"used": None, "hard": "1"}}])["cpu"] == {"used": None, "hard": "17"}


def test_two_quotas_in_one_namespace_add_up_and_one_keeps_the_servers_figures() -> None:
    found = quota.by_namespace([
        resource_quota("a", {"requests.nvidia.com/gpu": "4"}, {"requests.nvidia.com/gpu": "1"}),
        resource_quota("a", {"requests.nvidia.com/gpu": "2"}, {"requests.nvidia.com/gpu": "2"}),
        resource_quota("b", {"requests.memory": "1536Mi"}, {"requests.memory": "0"}),
    ])
    assert found == {"a": {"gpu": {"used": "3", "hard": "6"}}, "b": {"memory": {"used": "0", "hard": "1536Mi"}}}


def test_share_goes_above_one_when_over_quota() -> None:
    assert quota.share({"used": "9", "hard": "8"}) == 1.125
    assert quota.share({"used": "1", "hard": "0"}) is None
