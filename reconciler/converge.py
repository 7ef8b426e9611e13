"""Execute plans on clusters: read live state, plan, apply in dependency order, prune safely, record inventory.

Clusters converge in parallel and one cluster's failure is its own. Within a cluster, targets converge in
parallel; within a target, objects are applied in dependency order and deleted in reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler import inventory as inv
from reconciler import kueue_converge, preflight, prerequisites, rolecheck, windows
from reconciler import kueue_plan as kueue_objects
from reconciler import plan as planning
from reconciler import quota as quota_usage
from reconciler.agent_health import AgentHealth, agent_health
from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, ORPHANED_ANNOTATION, Landscape, Target
from reconciler.inventory import Inventory, ObjectRef
from reconciler.kube import crds as kube_crds
from reconciler.kube import kueue as kube_kueue
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.errors import KubeError
from reconciler.kube.guardrails import read_cluster_roles
from reconciler.plan import Change, PlanOptions, TargetPlan
from reconciler.render import render_target
from reconciler.render.objects import APPLY_ORDER

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ConvergeOptions:
    dry_run: bool = False
    allow_mass_delete: bool = False
    revision: str = ""
    wait_seconds: float = 0.0
    workers: int = 8
    ignore_change_windows: bool = False
    now: datetime | None = None  # the clock for change windows (tests); the real time when None
    applied_by: str = "cli"  # recorded in each inventory: "controller" for the in-cluster loop
    on_total: Callable[[int], None] | None = None  # told how many writes and deletes follow, before the first
    guard: Callable[[Inventory | None], str | None] | None = None  # see PlanOptions.guard
    drain_seconds: float = 60.0  # how long a ClusterQueue may drain before its deletion waits for the next run


@dataclass
class ClusterResult:
    cluster: str
    targets: list[TargetPlan] = field(default_factory=list)
    shared: list[Change] = field(default_factory=list)  # the Platform's cluster-scoped Kueue objects
    applied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    health: list[AgentHealth] = field(default_factory=list)
    quotas: dict[str, quota_usage.Usage] = field(default_factory=dict)  # per namespace, as read before converging
    writes: int = 0
    dry_run_checked: tuple[int, int] = (0, 0)  # objects the server dry-ran, of those to write
    reads: int = 0
    waited: bool = False  # --wait: agents that are not ready in time make the result fail

    @property
    def failed(self) -> bool:
        """Errors, refusals or conflicts: something a person has to look at."""
        return (bool(self.errors) or any(t.refusals or t.by_action("conflict") for t in self.targets)
                or any(c.action == "conflict" for c in self.shared))

    @property
    def ok(self) -> bool:
        """Converged: nothing failed, nothing held by a change window, agents ready when waited for."""
        if self.waited and any(h.state != "ready" for h in self.health):
            return False
        return not self.failed and not any(t.held for t in self.targets)


@dataclass
class ClusterState:
    """What one cluster holds that the reconciler cares about, read with one LIST per kind."""

    live: dict[ObjectRef, Object]
    inventories: dict[str, Inventory]
    system_namespace_exists: bool
    crds: prerequisites.CrdState = field(default_factory=dict)  # what agents need beyond their objects
    shared_inventory: Object | None = None  # the Platform's inventory of its cluster-scoped Kueue objects


# -- reading ---------------------------------------------------------------------------------------------------------

def read_cluster(client: ClusterClient, desired: dict[str, list[Object]], platform: str) -> ClusterState:
    """Live objects labelled as ours, the inventories, and any same-named objects that are not ours."""
    live: dict[ObjectRef, Object] = {}
    inventories = {}
    configmaps = client.list("ConfigMap", inv.selector(platform), namespace=inv.SYSTEM_NAMESPACE)
    for configmap in configmaps:
        stored = inv.from_configmap(configmap)
        if stored is not None:
            inventories[stored.namespace] = stored
    for kind in kueue_objects.kinds_to_read(APPLY_ORDER, desired, inventories):
        for obj in client.list(kind, MANAGED_SELECTOR):
            live[ObjectRef.of(obj)] = obj
    missing = [ObjectRef.of(o) for objects in desired.values() for o in objects if ObjectRef.of(o) not in live]
    namespaces: set[str] = set()
    if missing:
        namespaces = {ns["metadata"]["name"] for ns in client.list("Namespace", metadata_only=True)}
    for ref in missing:
        # An object of the same name can only exist if its namespace does: no request for new namespaces.
        exists = ref.name in namespaces if ref.kind == "Namespace" else ref.namespace in namespaces
        if exists:
            found = client.get(ref.kind, ref.namespace or None, ref.name)
            if found is not None:
                found.setdefault("kind", ref.kind)
                live[ref] = found
    system = inv.SYSTEM_NAMESPACE in namespaces if missing else bool(inventories)
    has_agent = any(o["kind"] == "Deployment" for objects in desired.values() for o in objects)
    crds = kube_crds.present(client, prerequisites.CRDS) if has_agent else {}
    return ClusterState(live, inventories, system, crds, kueue_converge.stored_inventory(configmaps, platform))


def hold_outside_windows(landscape: Landscape, plans: list[TargetPlan], now: datetime | None) -> None:
    """Mark pending changes to an environment whose change window is closed (or frozen) as held."""
    moment = now or datetime.now(UTC)
    for target in plans:
        if target.pending:
            status = windows.window_status(landscape.platform, target.environment, moment)
            if not status.open:
                opens = f"; it opens {status.next_open:%Y-%m-%d %H:%M} UTC" if status.next_open else ""
                target.held = (f"{status.reason}{opens}. The changes are held until then; "
                               "override with --ignore-change-windows")


def plan_cluster(landscape: Landscape, cluster: str, targets: tuple[Target, ...], desired: dict[str, list[Object]],
                 state: ClusterState, options: PlanOptions, scoped: bool) -> list[TargetPlan]:
    """Plans for the selected targets; when not ``scoped`` (no --env filter), also for removed environments."""
    plans = [
        planning.plan_target(t, desired[t.key], state.live, state.inventories.get(t.namespace), options)
        for t in targets
    ]
    for plan, target in zip(plans, targets, strict=True):
        plan.warnings.extend(prerequisites.warnings(target, landscape.platform, state.crds))
    if not scoped:
        described = {t.namespace for t in landscape.targets if t.cluster.name == cluster}
        for namespace, stored in sorted(state.inventories.items()):
            if namespace not in described:
                plans.append(planning.plan_removed(stored, cluster, state.live, options))
    kueue_objects.mark_drains(plans)
    return plans


# -- writing ---------------------------------------------------------------------------------------------------------

class _Executor:
    def __init__(self, client: ClusterClient, options: ConvergeOptions, result: ClusterResult,
                 progress: Progress, platform: str) -> None:
        self.platform = platform
        self.client = client
        self.options = options
        self.result = result
        self.progress = progress

    def now(self) -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def inventory(self, target: TargetPlan, objects: set[ObjectRef]) -> Inventory:
        return Inventory(target.namespace, target.environment, self.options.revision, self.now(),
                         protected=target.protected, on_remove=target.on_remove, objects=tuple(sorted(objects)),
                         platform=self.platform, applied_by=self.options.applied_by)

    def record(self, target: TargetPlan, objects: set[ObjectRef]) -> Inventory:
        stored = self.inventory(target, objects)
        if not self.options.dry_run:
            self.client.apply(inv.to_configmap(stored))
        return stored

    def converge_target(self, target: TargetPlan, previous: Inventory | None, on_remove: str) -> None:
        if target.refusals:
            return
        target.on_remove = on_remove
        wanted = {c.ref for c in target.changes if c.desired is not None and c.action != "conflict"}
        owned = set(previous.objects) if previous else set()
        if wanted - owned:
            # Record intent first: a crash after a create still leaves the new object in the inventory.
            previous = self.record(target, owned | wanted)
        done: set[ObjectRef] = set()
        for change in target.changes:
            if change.action in ("create", "update") and change.desired is not None:
                if not self.options.dry_run:  # a dry run was checked whole by the preflight
                    try:
                        if change.replace:  # a field that cannot change (the agent's selector): delete, create
                            self.client.delete(change.ref.kind, change.ref.namespace or None, change.ref.name)
                        self.client.apply(change.desired)
                        self._drop_orphan_note(change)
                    except KubeError as error:
                        self.stopped(target, owned | done, change.ref, error)
                        return
                done.add(change.ref)
                self.result.applied.append(f"{change.action} {change.ref}")
                self.progress(f"{self.result.cluster}: {change.action}d {change.ref}")
        survivors: set[ObjectRef] = set()
        drained = self.drain_queues(target)
        for change in target.by_action("delete"):
            try:
                if not self.delete(change.ref, drained):
                    survivors.add(change.ref)
                    continue
                self.progress(f"{self.result.cluster}: deleted {change.ref}")
            except KubeError as error:
                survivors.add(change.ref)  # stays in the inventory, so the next run retries it
                self.result.errors.append(str(error))
        kept = {c.ref for c in target.by_action("keep")}
        final = wanted | survivors | kept
        # Rewritten only when what it says changes: a one-object change writes only that object.
        described = (previous.protected, previous.on_remove, previous.environment) if previous else None
        if previous is None or set(previous.objects) != final or described != (
                target.protected, target.on_remove, target.environment) or self._new_applier(
                previous, target, done, survivors):
            self.record(target, final)

    def _new_applier(self, previous: Inventory, target: TargetPlan, done: set[ObjectRef],
                     survivors: set[ObjectRef]) -> bool:
        """A run that wrote something records who wrote it and at which revision; a no-op run writes nothing."""
        changed = bool(done) or any(c.ref not in survivors for c in target.by_action("delete"))
        return changed and (previous.applied_by, previous.revision) != (self.options.applied_by, self.options.revision)

    def drain_queues(self, target: TargetPlan) -> bool:
        """Drain the ClusterQueues this target deletes, before anything of Kueue is deleted (its LocalQueues
        included, so admitted workloads are evicted through their own queue). False while one still drains."""
        queues = [c.ref for c in target.by_action("delete") if c.ref.kind == "ClusterQueue"]
        if self.options.dry_run or not queues:
            return True
        for ref in queues:
            drained = kube_kueue.drain(self.client, ref.name, self.options.drain_seconds)
            if not drained.drained:
                self.result.errors.append(
                    f"cluster {self.result.cluster}: ClusterQueue {ref.name} is draining (stopPolicy HoldAndDrain): "
                    f"{drained.admitted} workload(s) still admitted after {self.options.drain_seconds:.0f}s; its "
                    "queues stay in the inventory and the next run deletes them once drained")
                return False
        return True

    def delete(self, ref: ObjectRef, queues_drained: bool) -> bool:
        """Delete one object; False when it is kept for the next run (Kueue's queues while still draining)."""
        if ref.kind in kueue_objects.QUEUE_KINDS and not queues_drained:
            return False
        self.client.delete(ref.kind, ref.namespace or None, ref.name, dry_run=self.options.dry_run)
        self.result.deleted.append(str(ref))
        return True

    def stopped(self, target: TargetPlan, applied: set[ObjectRef], failed: ObjectRef, error: KubeError) -> None:
        """A write failed after the dry run passed (a race): the inventory keeps exactly what exists now, and
        the error says what was and was not applied. Nothing is pruned in this run."""
        self.record(target, applied)
        wanted = [c.ref for c in target.changes if c.action in ("create", "update") and c.desired is not None]
        left = [str(ref) for ref in wanted if ref not in applied or ref == failed]
        self.result.errors.append(f"{error}; converge of {target.key} stopped at {failed}: not applied: "
                                  f"{', '.join(left)}; nothing was pruned. The next run retries")

    def _drop_orphan_note(self, change: planning.Change) -> None:
        # The annotation was set by a merge patch, not by our apply, so the apply cannot remove it.
        annotations = (change.live or {}).get("metadata", {}).get("annotations") or {}
        if ORPHANED_ANNOTATION in annotations and not self.options.dry_run:
            self.client.merge_patch(change.ref.kind, change.ref.namespace or None, change.ref.name,
                                    {"metadata": {"annotations": {ORPHANED_ANNOTATION: None}}})

    def remove_target(self, target: TargetPlan) -> None:
        if target.refusals:
            return
        survivors: set[ObjectRef] = set()
        drained = self.drain_queues(target)
        for change in target.changes:
            try:
                if change.action == "delete" and not self.delete(change.ref, drained):
                    survivors.add(change.ref)
                elif change.action == "orphan" and not self.options.dry_run:
                    note = f"{self.now()} environment {target.environment} removed from the repository"
                    self.client.merge_patch(change.ref.kind, change.ref.namespace or None, change.ref.name,
                                            {"metadata": {"annotations": {ORPHANED_ANNOTATION: note}}})
                    self.result.orphaned.append(str(change.ref))
            except KubeError as error:
                survivors.add(change.ref)
                self.result.errors.append(str(error))
        if self.options.dry_run:
            return
        if survivors:
            self.record(target, survivors)
        else:
            self.client.delete("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name(target.namespace))
        self.progress(f"{self.result.cluster}: environment {target.environment} removed from {target.key}")


@dataclass
class _Prepared:
    """One cluster read, planned and dry-run; nothing written yet."""

    client: ClusterClient
    result: ClusterResult
    targets: tuple[Target, ...]
    state: ClusterState | None = None
    failures: list[preflight.DryRunFailure] = field(default_factory=list)


def _prepare(client: ClusterClient, landscape: Landscape, targets: tuple[Target, ...], options: ConvergeOptions,
             scoped: bool) -> _Prepared:
    """Read, plan and dry-run one cluster; every failure is recorded in the result, never raised."""
    prepared = _Prepared(client, ClusterResult(client.name), targets)
    result = prepared.result
    try:
        desired = {t.key: render_target(t, landscape) for t in targets}
        state = read_cluster(client, desired, landscape.platform.name)
        result.quotas = quota_usage.by_namespace(o for ref, o in state.live.items() if ref.kind == "ResourceQuota")
        plan_options = PlanOptions(options.allow_mass_delete, landscape.platform.mass_delete_percent, options.guard)
        result.targets = plan_cluster(landscape, client.name, targets, desired, state, plan_options, scoped)
        result.shared = kueue_converge.plan(client, landscape, state.shared_inventory)
        kueue_converge.refuse_queues(result.targets, result.shared)
        rolecheck.refuse_dangerous(result.targets, desired, read_cluster_roles(client, rolecheck.names(desired)))
        if not options.ignore_change_windows:
            hold_outside_windows(landscape, result.targets, options.now)
        if preflight.new_namespaces(result.targets) and not state.system_namespace_exists and not options.dry_run:
            client.apply(inv.system_namespace())  # the scratch namespace of the dry run; converge needs it anyway
            state.system_namespace_exists = True
        prepared.failures = preflight.check(client, result.targets, options.workers,
                                            scratch=state.system_namespace_exists)
        prepared.failures.extend(kueue_converge.dry_run(client, result.shared, landscape.platform.name))
        result.dry_run_checked = preflight.checkable(result.targets, state.system_namespace_exists)
        prepared.state = state
    except KubeError as error:
        result.errors.append(str(error))
    return prepared


def _execute(prepared: _Prepared, landscape: Landscape, options: ConvergeOptions,
             progress: Progress) -> ClusterResult:
    """Write one prepared cluster's plan; every failure is recorded in the result, never raised."""
    client, result, state = prepared.client, prepared.result, prepared.state
    assert state is not None
    try:
        executor = _Executor(client, options, result, progress, landscape.platform.name)
        needs_system = any(t.pending for t in result.targets) or any(
            t.namespace not in state.inventories for t in result.targets if not t.removed)
        if needs_system and not state.system_namespace_exists and not options.dry_run:
            client.apply(inv.system_namespace())
        # The Platform's flavors and priority classes, before the ClusterQueues that name them.
        platform = landscape.platform.name
        result.applied.extend(f"apply {name}" for name in kueue_converge.execute(
            client, result.shared, state.shared_inventory, platform, options.dry_run))
        by_namespace = {t.namespace: t for t in prepared.targets}

        def run(target: TargetPlan) -> None:
            if target.held:
                return
            try:
                if target.removed:
                    executor.remove_target(target)
                else:
                    executor.converge_target(target, state.inventories.get(target.namespace),
                                             by_namespace[target.namespace].environment.on_remove)
            except KubeError as error:
                result.errors.append(str(error))

        with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
            list(pool.map(run, result.targets))
        # Pruned once no ClusterQueue of this run names them any more.
        result.deleted.extend(kueue_converge.prune(client, result.shared, state.shared_inventory, platform,
                                                   options.dry_run))
        if not options.dry_run:
            result.health = agent_health(client, result.targets, state.live, options.wait_seconds,
                                         MANAGED_SELECTOR)
        result.waited = options.wait_seconds > 0
    except KubeError as error:
        result.errors.append(str(error))
    return result


def plan_only(client: ClusterClient, landscape: Landscape, targets: tuple[Target, ...], allow_mass_delete: bool,
              scoped: bool = False, now: datetime | None = None) -> ClusterResult:
    result = ClusterResult(client.name)
    try:
        desired = {t.key: render_target(t, landscape) for t in targets}
        state = read_cluster(client, desired, landscape.platform.name)
        plan_options = PlanOptions(allow_mass_delete, landscape.platform.mass_delete_percent)
        result.targets = plan_cluster(landscape, client.name, targets, desired, state, plan_options, scoped)
        result.shared = kueue_converge.plan(client, landscape, state.shared_inventory)
        kueue_converge.refuse_queues(result.targets, result.shared)
        rolecheck.refuse_dangerous(result.targets, desired, read_cluster_roles(client, rolecheck.names(desired)))
        hold_outside_windows(landscape, result.targets, now)
    except KubeError as error:
        result.errors.append(str(error))
    result.writes, result.reads = client.writes, client.reads
    return result


def refused_by_api_servers(landscape: Landscape, clients: dict[str, ClusterClient], targets: tuple[Target, ...],
                           unreachable: Callable[[str, str], None] | None = None) -> list[preflight.DryRunFailure]:
    """The dry run of a whole revision on every cluster, writing nothing of it: the objects any API server
    refuses (400/422). A cluster that cannot be read is left to its own converge, as everywhere; ``unreachable``
    is told its error at once, so a hanging cluster shows as failed while the others go on."""
    options = ConvergeOptions()

    def prepare(name: str) -> _Prepared:
        prepared = _prepare(clients[name], landscape, tuple(t for t in targets if t.cluster.name == name), options,
                            scoped=False)
        if prepared.result.errors and unreachable is not None:
            unreachable(name, "; ".join(prepared.result.errors))
        return prepared

    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        prepared = list(pool.map(prepare, sorted(clients)))
    return [failure for one in prepared for failure in one.failures if failure.revision_refused]


def converge(landscape: Landscape, clients: dict[str, ClusterClient], options: ConvergeOptions,
             targets: tuple[Target, ...], progress: Progress, scoped: bool = False) -> list[ClusterResult]:
    """Converge every cluster in ``clients`` in parallel; returns one result per cluster, in name order.

    Two phases: every cluster is read, planned and dry-run first; when any API server refuses the revision's
    content, no cluster is written. Otherwise each cluster whose dry run passed is written, independently.
    """
    counted = {name: (c.writes, c.reads) for name, c in clients.items()}

    def prepare(name: str) -> _Prepared:
        chosen = tuple(t for t in targets if t.cluster.name == name)
        return _prepare(clients[name], landscape, chosen, options, scoped)

    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        prepared = list(pool.map(prepare, sorted(clients)))
    refused_by = sorted({f.cluster for p in prepared for f in p.failures if f.revision_refused})
    for one in prepared:
        one.result.errors.extend(str(failure) for failure in one.failures)
        if refused_by and not one.failures and one.state is not None:
            one.result.errors.append(f"cluster {one.client.name}: not converged: the revision is refused by the API "
                                     f"server of cluster {', '.join(refused_by)} (see its errors); nothing was "
                                     "written on any cluster")
    writable = [p for p in prepared if p.state is not None and not p.failures and not refused_by]
    if options.on_total is not None:
        options.on_total(sum(len(preflight.writes_of(p.result.targets)) + sum(len(t.by_action("delete"))
                             for t in p.result.targets) for p in writable))
    with ThreadPoolExecutor(max_workers=max(1, len(writable))) as pool:
        list(pool.map(lambda one: _execute(one, landscape, options, progress), writable))
    for one in prepared:
        writes, reads = counted[one.client.name]
        one.result.writes, one.result.reads = one.client.writes - writes, one.client.reads - reads
    return [one.result for one in prepared]


def summary(results: list[ClusterResult]) -> dict[str, Any]:
    return {
        "applied": sum(len(r.applied) for r in results),
        "deleted": sum(len(r.deleted) for r in results),
        "orphaned": sum(len(r.orphaned) for r in results),
        "errors": sum(len(r.errors) for r in results),
        "writes": sum(r.writes for r in results),
    }
