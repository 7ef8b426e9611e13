"""Pure: the plan of one cluster, a frozen value built once from desired objects, live state and inventories.

Every decision is taken here, before anything is shown or written: the targets' changes, removed environments
(their removal policy read from the inventory), the Platform's cluster-scoped Kueue objects, refusals (mass
deletion, dangerous roles, foreign flavors), prerequisites and change windows. ``reconciler plan`` shows this
value; ``reconciler apply`` executes it as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from reconciler.config.model import Landscape, Target
from reconciler.plan import kueue as kueue_plan
from reconciler.plan import kueue_shared, quota, rolecheck
from reconciler.plan.changes import Change, PlanOptions, TargetPlan, plan_target
from reconciler.plan.inventory import Inventory, ObjectRef
from reconciler.plan.removal import plan_removed
from reconciler.policy import prerequisites, windows

Object = dict[str, Any]


@dataclass(frozen=True)
class LiveState:
    """What one cluster holds that the reconciler cares about, read with one LIST per kind (``kube.live``)."""

    live: Mapping[ObjectRef, Object]
    inventories: Mapping[str, Inventory]
    system_namespace_exists: bool
    crds: prerequisites.CrdState = field(default_factory=dict)  # what agents need beyond their objects
    shared_inventory: Object | None = None  # the Platform's inventory of its cluster-scoped Kueue objects
    shared_live: Mapping[ObjectRef, Object] = field(default_factory=dict)  # those objects as they are now
    cluster_roles: Mapping[str, Object | None] = field(default_factory=dict)  # the ClusterRoles bindings name


@dataclass(frozen=True)
class ClusterPlan:
    cluster: str
    targets: tuple[TargetPlan, ...]
    shared: tuple[Change, ...]  # the Platform's cluster-scoped Kueue objects
    state: LiveState  # what the plan was made from: the previous inventories; of the live objects, the Deployments
    quotas: Mapping[str, quota.Usage] = field(default_factory=dict)  # per namespace, as read before converging

    @property
    def pending(self) -> bool:
        return any(t.pending for t in self.targets)


def plan_cluster(landscape: Landscape, cluster: str, targets: Sequence[Target], desired: Mapping[str, list[Object]],
                 shared_desired: Sequence[Object], state: LiveState, options: PlanOptions,
                 scoped: bool) -> ClusterPlan:
    """The plan of the selected ``targets`` of ``cluster``; when not ``scoped`` (no --env filter), also of the
    environments removed from the repository."""
    plans = [_plan_described(landscape, t, desired[t.key], state, options) for t in targets]
    if not scoped:
        described = {t.namespace for t in landscape.targets if t.cluster.name == cluster}
        plans += [plan_removed(stored, cluster, state.live, options)
                  for namespace, stored in sorted(state.inventories.items()) if namespace not in described]
    plans = kueue_plan.mark_drains(plans)
    shared = _plan_shared(landscape, shared_desired, state)
    plans = kueue_shared.refuse_queues(plans, shared)
    plans = rolecheck.refuse_dangerous(plans, desired, state.cluster_roles)
    if options.change_windows:
        moment = options.now or datetime.now(UTC)
        plans = [_held_outside_window(landscape, plan, moment) for plan in plans]
    return ClusterPlan(cluster, tuple(plans), shared, _for_health(state), _quotas(state.live.items()))


def _for_health(state: LiveState) -> LiveState:
    """The state a plan keeps once it is built: of the live objects, only the Deployments agent health is judged
    on, so that the others can be freed (a hub reading many clusters would hold them all until it ends)."""
    return replace(state, live={ref: obj for ref, obj in state.live.items() if ref.kind == "Deployment"})


def _plan_described(landscape: Landscape, target: Target, desired: list[Object], state: LiveState,
                    options: PlanOptions) -> TargetPlan:
    plan = plan_target(target, desired, state.live, state.inventories.get(target.namespace), options)
    missing = prerequisites.warnings(target, landscape.platform, state.crds)
    return replace(plan, warnings=(*plan.warnings, *missing)) if missing else plan


def _plan_shared(landscape: Landscape, desired: Sequence[Object], state: LiveState) -> tuple[Change, ...]:
    owned = kueue_shared.owned_refs(state.shared_inventory)
    if not desired and not owned:
        return ()
    return tuple(kueue_shared.plan_shared(landscape.platform.name, desired, state.shared_live, owned))


def _held_outside_window(landscape: Landscape, plan: TargetPlan, moment: datetime) -> TargetPlan:
    """Pending changes to an environment whose change window is closed (or frozen) are held."""
    if not plan.pending:
        return plan
    status = windows.window_status(landscape.platform, plan.environment, moment)
    if status.open:
        return plan
    opens = f"; it opens {status.next_open:%Y-%m-%d %H:%M} UTC" if status.next_open else ""
    return replace(plan, held=f"{status.reason}{opens}. The changes are held until then; "
                              "override with --ignore-change-windows")


def _quotas(live: Iterable[tuple[ObjectRef, Object]]) -> dict[str, quota.Usage]:
    return quota.by_namespace(obj for ref, obj in live if ref.kind == "ResourceQuota")
