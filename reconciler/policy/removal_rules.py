"""Removal rules: an environment, namespace or agent removed, a protected environment changed, and mass deletion."""

from __future__ import annotations

from reconciler.config.model import Environment
from reconciler.policy.findings import Assessment, TargetChange, targets


def removed(check: Assessment, name: str, before: Environment) -> None:
    if before.protected:
        check.add("protected-removed", name, (
            f"{name} is protected and this change removes it: refused, also when the same change drops the flag. "
            f"To remove it, first merge a change that sets `protected: false` on {name}, apply it, then remove the "
            "environment"))
        return
    fate = ("DELETED with everything in them (onRemove: delete)" if before.on_remove == "delete"
            else "left in place but no longer managed (onRemove: orphan)")
    check.add("environment-removed", name, (
        f"{name} is removed: its namespaces ({targets(before)}) are {fate}. Check that nobody still runs work "
        "there"))


def kept(check: Assessment, name: str, before: Environment, after: Environment, touched: bool) -> None:
    if before.protected and not after.protected:
        check.add("protected-changed", name, (
            f"{name} is no longer protected: after this merge it can be removed by any commit. Make sure an owner "
            f"of {name} agrees"))
    elif touched and (before.protected or after.protected):
        check.add("protected-changed", name, (
            f"{name} is protected and this change alters it ({targets(after)}): ask an owner of {name} to review"))
    for cluster, namespace in sorted(set(before.targets) - set(after.targets)):
        fate = ("DELETED with everything in it (onRemove: delete)" if before.on_remove == "delete"
                else "left in place but no longer managed (onRemove: orphan)")
        check.add("namespace-removed", name, (
            f"{name} no longer runs on {cluster}/{namespace}: the namespace is {fate}. Move running work first"),
            target=f"{cluster}/{namespace}")
    if before.agent is not None and after.agent is None:
        check.add("agent-removed", name, (
            f"the ML agent of {name} is removed: queued and running jobs of {name} stop being scheduled. "
            "Drain its queues first"))
    if before.agent is not None and after.agent is not None and before.agent.image != after.agent.image:
        check.add("agent-image-changed", name, (
            f"the agent image of {name} changes from {before.agent.image} to {after.agent.image}: the agent "
            "restarts on apply. Check that this version works with the control plane"))



def mass_deletion(check: Assessment, change: TargetChange) -> None:
    if change.gone:
        # A removed environment deletes nothing (onRemove: orphan) or asked for its own deletion (onRemove: delete,
        # the explicit allowance of the mass-deletion guard); environment-removed shows which.
        return
    deleting = change.removed
    limit = min(check.base.platform.mass_delete_percent, check.head.platform.mass_delete_percent)
    if not change.objects_before or not deleting:
        return
    share = 100 * deleting / change.objects_before
    if share > limit:
        check.add("mass-deletion", change.environment, (
            f"deletes {deleting} of the {change.objects_before} objects of {change.target} ({share:.0f}%, over the "
            f"Platform's massDeletePercent of {limit}%): apply refuses it unless run with --allow-mass-delete. "
            "Split the change or confirm it is intended"), target=change.target)

