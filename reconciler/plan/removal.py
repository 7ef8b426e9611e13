"""Pure: the plan of a target whose environment left the repository, as its inventory says it wanted.

The removal policy is the one stored with the environment while it was still in the repository (``onRemove``,
``protected``), so removing the environment cannot also change what removing it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.plan import ownership
from reconciler.plan.changes import Action, Change, Object, PlanOptions, TargetPlan, apply_order
from reconciler.plan.inventory import Inventory, ObjectRef


def plan_removed(inventory: Inventory, cluster: str, live: Mapping[ObjectRef, Object],
                 options: PlanOptions) -> TargetPlan:
    """The plan of a target whose environment left the repository: orphan (default) or delete, never silently."""
    plan = TargetPlan(cluster, inventory.namespace, inventory.environment, protected=inventory.protected,
                      removed=True, on_remove=inventory.on_remove)
    present = [ref for ref in inventory.objects if ref in live and ownership.may_prune(live[ref], inventory)]
    if inventory.protected:
        return replace(plan, changes=tuple(Change("keep", ref, live=live[ref], reason="protected") for ref in present),
                       refusals=(f"environment {inventory.environment} is protected and was removed from the "
                                 "repository: nothing is changed. First commit `protected: false` for it, apply, "
                                 "then remove it",))
    action: Action = "delete" if inventory.on_remove == "delete" else "orphan"
    reason = ("environment removed with onRemove: delete" if action == "delete"
              else "environment removed: left in place (onRemove: orphan) and no longer managed")
    # No mass-deletion guard here: `onRemove: delete`, stored with the environment before it was removed, is the
    # explicit allowance for deleting all of it (the guard still covers every environment that stays).
    return replace(plan, changes=tuple(Change(action, ref, live=live[ref], reason=reason)
                                       for ref in sorted(present, key=apply_order, reverse=True)))
