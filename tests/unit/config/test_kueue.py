"""Kueue quota in the repository: resolved per environment and node pool, and checked with path:line."""

from __future__ import annotations

from tests.unit.conftest import Repo

KUEUE_PLATFORM = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Platform
    metadata: {name: test-platform}
    spec:
      quotaEnforcement: Kueue
      controlPlane: {cluster: shared, namespace: polyaxon}
    """


def environment(name: str, pools: str, cohort: str = "", queues: str = "[{name: default, nodePool: cpu}]") -> str:
    cohort_line = f"cohort: {cohort}" if cohort else ""
    return f"""
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {{name: {name}}}
        spec:
          extends: [standard]
          targets:
            - {{cluster: gpu, namespace: ml-{name}}}
          agent:
            queues: {queues}
          kueue:
            {cohort_line}
            pools: {pools}
        """


def test_quota_per_pool_with_limits_resolves_to_kubernetes_names(repo: Repo) -> None:
    repo.write("platform.yaml", KUEUE_PLATFORM)
    repo.write("environments/prod.yaml", environment(
        "prod", "{cpu: {cpu: '8'}, a100: {gpu: 8, cpu: '32', borrowingLimit: {gpu: 2}}}", cohort="ml"))
    repo.write("environments/staging.yaml", environment("staging", "{cpu: {cpu: '4'}, a100: {gpu: 4}}", cohort="ml"))
    repo.remove("environments/dev.yaml")
    landscape = repo.landscape()
    assert landscape.platform.quota_enforcement == "Kueue"
    quota = landscape.environments["prod"].kueue
    assert quota is not None and quota.cohort == "ml"
    assert quota.pools["a100"].nominal == {"cpu": "32", "nvidia.com/gpu": "8"}
    assert quota.pools["a100"].borrowing_limit == {"nvidia.com/gpu": "2"}


def test_a_queue_on_a_pool_without_quota_is_refused_where_the_queue_is_written(repo: Repo) -> None:
    repo.write("platform.yaml", KUEUE_PLATFORM)
    repo.write("environments/prod.yaml", environment(
        "prod", "{cpu: {cpu: '8'}}", queues="[{name: default, nodePool: cpu}, {name: training, nodePool: a100}]"))
    repo.remove("environments/dev.yaml")
    error = repo.only_error()
    assert error.startswith("environments/prod.yaml:9:")
    assert "spec.agent.queues[1].nodePool" in error
    assert "queue 'training' of environment 'prod' runs on node pool 'a100', which has no Kueue quota" in error
    assert "add spec.kueue.pools.a100" in error


def test_a_quota_on_a_pool_a_target_cluster_lacks_is_refused(repo: Repo) -> None:
    repo.write("platform.yaml", KUEUE_PLATFORM)
    repo.write("environments/prod.yaml", environment("prod", "{cpu: {cpu: '8'}, h100: {gpu: 1}}"))
    repo.remove("environments/dev.yaml")
    error = repo.only_error()
    assert error.startswith("environments/prod.yaml:12:")
    assert "node pool 'h100' is not defined on cluster 'gpu'" in error


def test_a_pool_without_quota_is_refused(repo: Repo) -> None:
    repo.write("platform.yaml", KUEUE_PLATFORM)
    repo.write("environments/prod.yaml", environment("prod", "{cpu: {cpu: '8'}, a100: {borrowingLimit: {gpu: 1}}}"))
    repo.remove("environments/dev.yaml")
    error = repo.only_error()
    assert error.startswith("environments/prod.yaml:12:")
    assert "node pool 'a100' of environment 'prod' has no quota: Kueue would admit nothing on it" in error


def test_borrowing_above_what_the_cohort_can_lend_is_refused_for_any_resource(repo: Repo) -> None:
    repo.write("platform.yaml", KUEUE_PLATFORM)
    repo.write("environments/prod.yaml", environment(
        "prod", "{cpu: {cpu: '8', borrowingLimit: {cpu: '5'}}, a100: {gpu: 8, borrowingLimit: {gpu: 3}}}",
        cohort="ml"))
    repo.write("environments/staging.yaml", environment(
        "staging", "{cpu: {cpu: '4'}, a100: {gpu: 4, lendingLimit: {gpu: 2}}}", cohort="ml"))
    repo.remove("environments/dev.yaml")
    errors = repo.errors()
    assert len(errors) == 2, errors
    assert "spec.kueue.pools.a100.borrowingLimit" in errors[0]
    assert "may borrow 3 nvidia.com/gpu on 'a100', but the rest of cohort 'ml' can lend at most 2" in errors[0]
    assert "may borrow 5 cpu on 'cpu', but the rest of cohort 'ml' can lend at most 4" in errors[1]


def test_without_kueue_enforcement_queues_need_no_kueue_quota(repo: Repo) -> None:
    repo.write("environments/prod.yaml", environment("prod", "{}", queues="[{name: training, nodePool: a100}]"))
    repo.remove("environments/dev.yaml")
    assert repo.landscape().platform.quota_enforcement == "ResourceQuota"
