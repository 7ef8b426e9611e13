"""The controller's Prometheus metrics, written with ``prometheus-client``.

Counters and the duration histogram are counted as events happen (:class:`Metrics`); gauges are read from
:class:`reconciler.controller.status.Status` at each scrape (:class:`StateCollector`), so they always say what
``/status`` says. Every counter is exported from the start, at 0, so ``rate()`` and ``increase()`` see its first
event. Each HTTP server gathers them into a registry of its own (:func:`registry`): nothing is global, so two
controllers (or two tests) in one process never share a series.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler import version as build
from reconciler.controller import target_metrics
from reconciler.controller.status_model import ClusterStatus
from reconciler.kube.resources import RESOURCES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reconciler_git_checks_total": ("Checks of the branch (git ls-remote).", ()),
    "reconciler_git_fetches_total": ("Fetches of a moved branch.", ()),
    "reconciler_git_force_pushes_total": ("Fetches that found the branch force-pushed.", ()),
    "reconciler_git_fetch_errors_total": ("Checks or fetches of the branch that failed.", ()),
    "reconciler_invalid_revisions_total": ("Revisions refused as invalid (nothing of them applied).", ()),
    "reconciler_signatures_verified_total": ("Commits whose signature was verified against a listed key.", ()),
    "reconciler_revisions_held_total": ("Revisions held, by cause (signature, risk) and reason.", ("cause", "reason")),
    "reconciler_webhook_requests_total": ("Calls of POST /hooks/git, by result.", ("result",)),
    "reconciler_objects_applied_total": ("Objects created or changed.", ("cluster",)),
    "reconciler_objects_pruned_total": ("Objects deleted because the repository no longer wants them.", ("cluster",)),
    "reconciler_objects_orphaned_total": ("Objects left in place, unmanaged, when their environment was removed.",
                                          ("cluster",)),
    "reconciler_drift_corrected_total": ("Objects put back after they were changed outside git.", ("cluster",)),
    "reconciler_errors_total": ("Errors of converges.", ("cluster",)),
    "reconciler_reconciles_total": ("Converges of a cluster, by result.", ("cluster", "result")),
    "reconciler_write_requests_total": ("Write requests sent to the API server, by resource (plural).",
                                        ("cluster", "resource")),
}
WEBHOOK_RESULTS = ("accepted", "bad-signature", "busy", "disabled")
CLUSTER_COUNTERS = ("reconciler_objects_applied_total", "reconciler_objects_pruned_total",
                    "reconciler_objects_orphaned_total", "reconciler_drift_corrected_total", "reconciler_errors_total")
RECONCILE_RESULTS = ("success", "failure", "refused", "held")
# Writes are counted per cluster and resource as they are sent: one series per kind the reconciler writes.
WRITTEN_RESOURCES = tuple(sorted(resource.plural for resource in RESOURCES.values()))


class Metrics:
    """The counters and the histogram, counted by the controller's threads (``prometheus-client`` locks them)."""

    def __init__(self) -> None:
        self.counters = {name: Counter(name, text, labels, registry=None) for name, (text, labels) in COUNTERS.items()}
        self.durations = Histogram("reconciler_reconcile_duration_seconds", "Time to converge one cluster.",
                                   ["cluster"], buckets=DURATION_BUCKETS, registry=None)
        for result in WEBHOOK_RESULTS:
            self.counters["reconciler_webhook_requests_total"].labels(result=result)
        self.counters["reconciler_revisions_held_total"].labels(cause="risk", reason="blocking-finding")

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        counter = self.counters[name]
        (counter.labels(**labels) if labels else counter).inc(amount)

    def observe(self, cluster: str, seconds: float) -> None:
        self.durations.labels(cluster=cluster).observe(seconds)

    def known_cluster(self, name: str) -> None:
        """A cluster's counters and histogram, at 0, from its first attempt."""
        self.durations.labels(cluster=name)
        for counter in CLUSTER_COUNTERS:
            self.counters[counter].labels(cluster=name)
        for result in RECONCILE_RESULTS:
            self.counters["reconciler_reconciles_total"].labels(cluster=name, result=result)
        for resource in WRITTEN_RESOURCES:
            self.counters["reconciler_write_requests_total"].labels(cluster=name, resource=resource)

    def collectors(self) -> list[Collector]:
        return [*self.counters.values(), self.durations]


@dataclass(frozen=True)
class Gauges:
    """What the gauges show, read from the status at one instant."""

    clusters: list[tuple[str, ClusterStatus]]
    is_leader: bool
    ready: bool
    head_invalid: bool  # the branch's head is the last invalid revision
    held: bool


class StateCollector(Collector):
    """The gauges, built from the status at each scrape."""

    def __init__(self, read: Callable[[], Gauges]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        state = self.read()
        info = GaugeMetricFamily("reconciler_build_info", "The reconciler's version (value 1).",
                                 labels=["version", "python"])
        info.add_metric([build.version(), platform.python_version()], 1)
        yield info
        revisions = GaugeMetricFamily("reconciler_applied_revision", "The git revision last converged on each "
                                      "target (value 1).", labels=["cluster", "namespace", "environment", "revision"])
        failures = GaugeMetricFamily("reconciler_cluster_consecutive_failures", "Failed attempts in a row to "
                                     "converge each cluster.", labels=["cluster"])
        for cluster, status in state.clusters:
            failures.add_metric([cluster], status.failures)
            for namespace, target in sorted(status.targets.items()):
                if target.revision:
                    revisions.add_metric([cluster, namespace, target.environment, target.revision], 1)
        yield revisions
        yield failures
        yield from target_metrics.families(state.clusters)
        yield _single("reconciler_revision_invalid", "1 while the branch's head is an invalid revision.",
                      state.head_invalid)
        yield _single("reconciler_revision_held", "1 while the branch's newest valid revision is held by a blocking "
                      "risk finding.", state.held)
        yield _single("reconciler_leader", "1 while this replica leads at least one cluster (always 1 without "
                      "--leader-elect).", state.is_leader)
        yield _single("reconciler_ready", "1 once a cluster has converged (what /readyz needs).", state.ready)


def _single(name: str, text: str, value: bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=int(value))


def registry(metrics: Metrics, gauges: Callable[[], Gauges]) -> CollectorRegistry:
    """A registry of the controller's metrics, its gauges and the process's own (CPU, memory, open files)."""
    found = CollectorRegistry(auto_describe=True)
    for collector in [*metrics.collectors(), StateCollector(gauges)]:
        found.register(collector)
    ProcessCollector(registry=found)
    return found


def exposition(found: CollectorRegistry) -> str:
    return generate_latest(found).decode()
