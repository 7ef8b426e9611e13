"""Pure Kueue steps of a plan: which Kueue kinds a cluster is read for, and quota lowered below admitted usage.

Kueue's kinds are read only where they matter (a target wants them, or an inventory holds some), so that a
cluster without Kueue's CRDs is converged as before, with no request that would fail there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import Inventory
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


def mark_drains(plans: Iterable[TargetPlan]) -> list[TargetPlan]:
    """Say in the plan that a ClusterQueue's removal is a drain, then a delete, and show what a changed
    ClusterQueue has admitted now beside its change."""
    noted = []
    for plan in plans:
        changes = tuple(_drain_noted(change) for change in plan.changes)
        changed = any(new is not old for new, old in zip(changes, plan.changes, strict=True))
        noted.append(replace(plan, changes=changes) if changed else plan)
    return noted


def _drain_noted(change: Change) -> Change:
    if change.ref.kind != "ClusterQueue" or change.action not in ("delete", "update"):
        return change
    note = DRAIN_NOTE if change.action == "delete" else admitted_now(change.live or {})
    return replace(change, reason="; ".join(filter(None, (change.reason, note)))) if note else change


def admitted_now(live: Manifest) -> str:
    """``admitted now: a100 nvidia.com/gpu 3 (1 borrowed), ...`` from the live ``status.flavorsUsage``."""
    parts = []
    for flavor in live.get("status", {}).get("flavorsUsage", []):
        for resource in flavor.get("resources", []):
            total, borrowed = str(resource.get("total", "0")), str(resource.get("borrowed", "0"))
            if total in ("0", ""):
                continue
            lent = f" ({borrowed} borrowed)" if borrowed not in ("0", "") else ""
            parts.append(f"{flavor['name']} {resource['name']} {total}{lent}")
    return f"admitted now: {', '.join(parts)}" if parts else ""
