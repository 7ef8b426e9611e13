"""/metrics covers everything from the start: counters at 0 before their first event, and per target its state,
last success, agent replicas and quota used/hard, so dashboards and alerts have series to read."""

from __future__ import annotations

from reconciler.controller import metrics
from reconciler.controller.status import Status
from reconciler.controller.status_model import SyncOutcome, TargetStatus


def status() -> Status:
    return Status("https://git.example.com/ml/envs.git", "main", "", "replica-a", leader_elect=False)


def samples(state: Status) -> dict[str, float]:
    found = {}
    for line in metrics.exposition(metrics.registry(state.metrics, state.gauges)).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def test_source_and_webhook_counters_are_zero_before_any_event() -> None:
    found = samples(status())
    for name in ("reconciler_git_checks_total", "reconciler_git_fetches_total", "reconciler_git_fetch_errors_total",
                 "reconciler_git_force_pushes_total", "reconciler_invalid_revisions_total",
                 'reconciler_webhook_requests_total{result="accepted"}',
                 'reconciler_webhook_requests_total{result="bad-signature"}'):
        assert found[name] == 0, name
    assert found["reconciler_revision_invalid"] == 0


def test_a_clusters_counters_and_histogram_exist_from_its_first_attempt() -> None:
    state = status()
    state.converging("gpu", "abc")
    found = samples(state)
    for name in ("objects_applied", "objects_pruned", "objects_orphaned", "drift_corrected", "errors"):
        assert found[f'reconciler_{name}_total{{cluster="gpu"}}'] == 0, name
    for resource in ("namespaces", "rolebindings", "resourcequotas", "deployments", "configmaps"):
        assert found[f'reconciler_write_requests_total{{cluster="gpu",resource="{resource}"}}'] == 0, resource
    for result in ("success", "failure", "refused", "held"):
        assert found[f'reconciler_reconciles_total{{cluster="gpu",result="{result}"}}'] == 0
    assert found['reconciler_reconcile_duration_seconds_count{cluster="gpu"}'] == 0


def test_targets_have_state_last_success_agent_and_quota_gauges() -> None:
    state = status()
    target = TargetStatus("prod", "converged", "abc", None, "2026-12-01T21:00:00Z",
                          quota={"gpu": {"used": "3", "hard": "8"}, "memory": {"used": "1536Mi", "hard": "4Gi"},
                                 "cpu": {"used": None, "hard": "500m"}},
                          agent={"state": "progressing", "ready": 1, "wanted": 2, "detail": ""})
    state.synced("gpu", SyncOutcome("converged", "abc", 0.5, targets={"ml-prod": target}), 0, None)
    found = samples(state)
    where = 'cluster="gpu",environment="prod",namespace="ml-prod"'
    assert found[f'reconciler_target_state{{{where},state="converged"}}'] == 1
    assert found[f'reconciler_target_state{{{where},state="held"}}'] == 0
    assert found[f"reconciler_target_last_success_timestamp_seconds{{{where}}}"] == 1796158800
    assert found[f"reconciler_agent_ready_replicas{{{where}}}"] == 1
    assert found[f"reconciler_agent_wanted_replicas{{{where}}}"] == 2
    assert found[f'reconciler_quota_used{{{where},resource="gpu"}}'] == 3
    assert found[f'reconciler_quota_hard{{{where},resource="memory"}}'] == 4 * 2**30
    assert found[f'reconciler_quota_used{{{where},resource="memory"}}'] == 1536 * 2**20
    assert found[f'reconciler_quota_hard{{{where},resource="cpu"}}'] == 0.5
    assert f'reconciler_quota_used{{{where},resource="cpu"}}' not in found  # not counted yet: no sample


def test_revision_invalid_is_one_only_while_the_branch_head_is_the_bad_revision() -> None:
    state = status()
    state.fetched("bad")
    state.revision_invalid("bad", ["environments/prod.yaml:3: spec.quota.gpu: not a number"])
    assert samples(state)["reconciler_revision_invalid"] == 1
    state.fetched("fixed")
    state.revision_valid("fixed")
    assert samples(state)["reconciler_revision_invalid"] == 0


def test_a_cluster_first_shown_as_standby_still_has_its_counters_from_its_first_attempt() -> None:
    state = Status("https://git.example.com/ml/envs.git", "main", "", "replica-a", leader_elect=True)
    state.set_leader(False, "replica-b", cluster="gpu")
    state.converging("gpu", "abc")
    assert samples(state)['reconciler_reconciles_total{cluster="gpu",result="success"}'] == 0
