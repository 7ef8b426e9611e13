"""Pure Kueue steps of a plan: which Kueue kinds a cluster is read for, and quota lowered below admitted usage.

Kueue's kinds are read only where they matter (a target wants them, or an inventory holds some), so that a
cluster without Kueue's CRDs is converged as before, with no request that would fail there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.inventory import Inventory
from reconciler.plan import TargetPlan
from reconciler.render.kueue import KINDS
from reconciler.render.objects import Manifest

QUEUE_KINDS = frozenset({"ClusterQueue", "LocalQueue"})
DRAIN_NOTE = ("drained first (stopPolicy HoldAndDrain: admission stops, admitted workloads are evicted), deleted "
              "once Kueue reports no admitted workload")


def kinds_to_read(order: Sequence[str], desired: Mapping[str, Iterable[Manifest]],
                  inventories: Mapping[str, Inventory]) -> list[str]:
    wanted = any(o["kind"] in KINDS for objects in desired.values() for o in objects)
    owned = any(ref.kind in KINDS for stored in inventories.values() for ref in stored.objects)
    return [kind for kind in order if kind not in KINDS or wanted or owned]


def mark_drains(plans: Iterable[TargetPlan]) -> None:
    """Say in the plan that a ClusterQueue's removal is a drain, then a delete."""
    for plan in plans:
        for change in plan.changes:
            if change.action == "delete" and change.ref.kind == "ClusterQueue":
                change.reason = "; ".join(filter(None, (change.reason, DRAIN_NOTE)))
