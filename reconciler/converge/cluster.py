"""One cluster up to the first write: render, read, plan (the plan ``reconciler plan`` shows), then dry-run.

``reconciler plan`` and ``reconciler apply`` (with or without ``--dry-run``) reach their plan through
``plan_cluster``: the same rendering, the same reads and the same pure planning, so what is shown is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.config.model import Landscape, Target
from reconciler.converge import kueue as kueue_converge
from reconciler.converge import preflight
from reconciler.converge.options import ConvergeOptions
from reconciler.converge.results import ClusterResult, failure
from reconciler.kube import live
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.plan import cluster as planning
from reconciler.plan import inventory as inv
from reconciler.plan.changes import PlanOptions
from reconciler.plan.cluster import ClusterPlan
from reconciler.render import kueue as render_kueue
from reconciler.render import render_target


def plan_cluster(client: ClusterClient, landscape: Landscape, targets: Sequence[Target], options: PlanOptions,
                 scoped: bool) -> ClusterPlan:
    """The frozen plan of one cluster's ``targets``; raises KubeError when the cluster cannot be read."""
    desired = {t.key: render_target(t, landscape) for t in targets}
    shared = render_kueue.render_cluster(landscape, client.name)
    state = live.read_cluster(client, desired, shared, landscape.platform.name)
    return planning.plan_cluster(landscape, client.name, targets, desired, shared, state, options, scoped)


def plan_only(client: ClusterClient, landscape: Landscape, targets: tuple[Target, ...], allow_mass_delete: bool,
              scoped: bool = False, now: datetime | None = None) -> ClusterResult:
    """The plan of one cluster as a result with nothing done: what ``reconciler plan`` prints."""
    options = PlanOptions(allow_mass_delete, landscape.platform.mass_delete_percent, now=now)
    try:
        result = ClusterResult.of(plan_cluster(client, landscape, targets, options, scoped))
    except KubeError as error:
        result = ClusterResult(client.name, entries=[failure("read", str(error), error=error)])
    result.writes, result.reads = client.writes, client.reads
    return result


@dataclass(frozen=True)
class Prepared:
    """One cluster read, planned and dry-run; nothing of the revision written yet."""

    client: ClusterClient
    result: ClusterResult
    plan: ClusterPlan | None = None  # None: the cluster could not be read or dry-run
    failures: tuple[preflight.DryRunFailure, ...] = ()
    scratch: bool = False  # the system namespace exists (the dry run's scratch namespace)


def prepare(client: ClusterClient, landscape: Landscape, targets: tuple[Target, ...], options: ConvergeOptions,
            scoped: bool) -> Prepared:
    """Plan and dry-run one cluster; every failure is recorded in the result, never raised."""
    try:
        plan = plan_cluster(client, landscape, targets, options.planning(landscape), scoped)
    except KubeError as error:
        return Prepared(client, ClusterResult(client.name, entries=[failure("read", str(error), error=error)]))
    result = ClusterResult.of(plan)
    try:
        scratch = plan.state.system_namespace_exists
        if preflight.new_namespaces(plan.targets) and not scratch and not options.dry_run:
            client.apply(inv.system_namespace())  # the scratch namespace of the dry run; converge needs it anyway
            scratch = True
        failures = preflight.check(client, plan.targets, options.workers, scratch=scratch)
        failures.extend(kueue_converge.dry_run(client, plan.shared, landscape.platform.name))
        result.dry_run_checked = preflight.checkable(plan.targets, scratch)
    except KubeError as error:
        result.entries.append(failure("dry-run", str(error), error=error))
        return Prepared(client, result)
    return Prepared(client, result, plan, tuple(failures), scratch)
