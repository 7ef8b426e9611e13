"""Converge clusters: each is planned once (``converge.cluster``), dry-run, then its plan executed as it is.

Clusters converge in parallel and one cluster's failure is its own. Within a cluster, targets converge in
parallel; within a target, objects are applied in dependency order and deleted in reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.config.model import ORPHANED_ANNOTATION, Landscape, Target
from reconciler.converge import kueue as kueue_converge
from reconciler.converge import preflight, prune
from reconciler.converge.agent_health import agent_health
from reconciler.converge.cluster import Prepared, plan_only, prepare
from reconciler.converge.execute import converge_target
from reconciler.converge.options import ConvergeOptions, Progress
from reconciler.converge.results import ClusterResult, Entry, failure, summary
from reconciler.converge.writer import Writer
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.kube.live import MANAGED_SELECTOR
from reconciler.plan import inventory as inv
from reconciler.plan.changes import TargetPlan
from reconciler.plan.cluster import LiveState

# The entry points the command line and the controller use, beside ``converge`` itself.
__all__ = ["ORPHANED_ANNOTATION", "ClusterResult", "ConvergeOptions", "Progress", "converge", "execute", "plan_only",
           "refused_by_api_servers", "summary"]


def _execute(prepared: Prepared, landscape: Landscape, options: ConvergeOptions,
             progress: Progress) -> ClusterResult:
    """Write one prepared cluster's plan; every failure is recorded in the result, never raised."""
    client, result, plan = prepared.client, prepared.result, prepared.plan
    assert plan is not None
    writer = Writer(client, options, result, progress, landscape.platform.name)
    try:
        state = plan.state
        needs_system = plan.pending or any(
            t.namespace not in state.inventories for t in plan.targets if not t.removed)
        if needs_system and not prepared.scratch and not options.dry_run:
            client.apply(inv.system_namespace())
        # The Platform's flavors and priority classes, before the ClusterQueues that name them.
        platform = landscape.platform.name
        for ref in kueue_converge.execute(client, plan.shared, state.shared_inventory, platform, options.dry_run):
            writer.note(Entry("apply", "done", ref))
        with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
            list(pool.map(lambda target: _converge_target(writer, target, state), plan.targets))
        # Pruned once no ClusterQueue of this run names them any more.
        for ref in kueue_converge.prune(client, plan.shared, state.shared_inventory, platform, options.dry_run):
            writer.note(Entry("delete", "done", ref))
        if not options.dry_run:
            result.health = agent_health(client, plan.targets, state.live, options.wait_seconds, MANAGED_SELECTOR)
        result.waited = options.wait_seconds > 0
    except KubeError as error:
        writer.note(failure("converge", str(error), error=error))
    return result


def _converge_target(writer: Writer, target: TargetPlan, state: LiveState) -> None:
    if target.held:
        return
    try:
        if target.removed:
            prune.remove_target(writer, target)
        else:
            converge_target(writer, target, state.inventories.get(target.namespace))
    except KubeError as error:
        writer.failed(target, None, error)


def _prepare_all(landscape: Landscape, clients: dict[str, ClusterClient], targets: tuple[Target, ...],
                 options: ConvergeOptions, scoped: bool) -> list[Prepared]:
    def one(name: str) -> Prepared:
        return prepare(clients[name], landscape, tuple(t for t in targets if t.cluster.name == name), options, scoped)

    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        return list(pool.map(one, sorted(clients)))


def refused_by_api_servers(landscape: Landscape, clients: dict[str, ClusterClient], targets: tuple[Target, ...],
                           unreachable: Callable[[str, str], None] | None = None) -> list[preflight.DryRunFailure]:
    """The dry run of a whole revision on every cluster, writing nothing of it: the objects any API server
    refuses for their content (``kube.errors.refuses_content``). A cluster that cannot be read is left to its own
    converge, as everywhere; ``unreachable`` is told its error at once, so a hanging cluster shows as failed while
    the others go on."""
    options = ConvergeOptions()

    def one(name: str) -> Prepared:
        prepared = prepare(clients[name], landscape, tuple(t for t in targets if t.cluster.name == name), options,
                           scoped=False)
        if prepared.result.failures and unreachable is not None:
            unreachable(name, "; ".join(prepared.result.errors))
        return prepared

    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        prepared = list(pool.map(one, sorted(clients)))
    return [failure for one in prepared for failure in one.failures if failure.revision_refused]


def _record_dry_run(prepared: list[Prepared]) -> list[Prepared]:
    """Each cluster's dry-run refusals in its result; the clusters that may be written (none when any API
    server refused the revision's content)."""
    refused_by = sorted({f.cluster for p in prepared for f in p.failures if f.revision_refused})
    for one in prepared:
        one.result.entries.extend(failure("dry-run", str(f), f.ref, f.namespace, f.error) for f in one.failures)
        if refused_by and not one.failures and one.plan is not None:
            one.result.entries.append(failure("dry-run", (
                f"cluster {one.client.name}: not converged: the revision is refused by the API server of cluster "
                f"{', '.join(refused_by)} (see its errors); nothing was written on any cluster")))
    return [p for p in prepared if p.plan is not None and not p.failures and not refused_by]


def execute(prepared: Sequence[Prepared], landscape: Landscape, options: ConvergeOptions,
            progress: Progress) -> list[ClusterResult]:
    """Execute the plans of clusters already prepared (planned and dry-run), as they are; when any API server
    refused the revision's content, none is written. One result per cluster, in the order given."""
    writable = _record_dry_run(list(prepared))
    if options.on_total is not None:
        options.on_total(sum(len(preflight.writes_of(p.plan.targets)) + sum(len(t.by_action("delete"))
                             for t in p.plan.targets) for p in writable if p.plan is not None))
    with ThreadPoolExecutor(max_workers=max(1, len(writable))) as pool:
        list(pool.map(lambda one: _execute(one, landscape, options, progress), writable))
    return [one.result for one in prepared]


def converge(landscape: Landscape, clients: dict[str, ClusterClient], options: ConvergeOptions,
             targets: tuple[Target, ...], progress: Progress, scoped: bool = False) -> list[ClusterResult]:
    """Converge every cluster in ``clients`` in parallel; returns one result per cluster, in name order.

    Two phases: every cluster is planned and dry-run first; when any API server refuses the revision's
    content, no cluster is written. Otherwise each cluster whose dry run passed is written, independently.
    """
    counted = {name: (c.writes, c.reads) for name, c in clients.items()}
    prepared = _prepare_all(landscape, clients, targets, options, scoped)
    results = execute(prepared, landscape, options, progress)
    for one in prepared:
        writes, reads = counted[one.client.name]
        one.result.writes, one.result.reads = one.client.writes - writes, one.client.reads - reads
    return results
