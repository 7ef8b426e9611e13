"""Whose is a live object: ours only by our label *and* our inventory *and* the same environment and Platform.

Pure: labels and an inventory in, a verdict out. Anything the verdict does not call ours is left alone, unless the
environment says so in git: ``adopt: true`` for objects nobody manages (or ours but in no inventory), ``takeOver``
for objects of a named previous owner (an environment renamed, a namespace moved between environments or
Platforms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reconciler.config.model import (
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    ORPHANED_ANNOTATION,
    PLATFORM_LABEL,
    Owner,
    Target,
)
from reconciler.plan.inventory import Inventory, ObjectRef

Claim = Literal["ours", "adopt", "take-over", "conflict"]


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    reason: str = ""
    owner: Owner | None = None


def owner_of(obj: dict[str, Any]) -> Owner | None:
    """The environment and Platform an object's labels name; None when the reconciler does not manage it."""
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return None
    return Owner(str(labels.get(ENVIRONMENT_LABEL, "")), str(labels.get(PLATFORM_LABEL, "")))


def belongs_to(owner: Owner | None, environment: str, platform: str) -> bool:
    """Objects labelled before the platform label existed have none; the inventory vouches for them."""
    return owner is not None and owner.environment == environment and owner.platform in ("", platform)


def taken_over(target: Target, owner: Owner) -> bool:
    return any(owner.environment == previous.environment and owner.platform in ("", previous.platform)
               for previous in target.environment.take_over)


def _take_over_hint(target: Target, owner: Owner) -> str:
    platform = f", platform: {owner.platform}" if owner.platform and owner.platform != target.platform else ""
    return (f"If environment {target.environment.name!r} is meant to take it over (a rename or a move), add "
            f"`takeOver: [{{environment: {owner.environment}{platform}}}]` to it")


def judge(target: Target, ref: ObjectRef, obj: dict[str, Any], inventory: Inventory | None) -> Verdict:
    """Whether ``target`` may write the live object ``obj`` that it wants under the same name."""
    owner = owner_of(obj)
    adopt = target.environment.adopt
    if owner is None:
        if adopt:
            return Verdict("adopt", "adopted: it was not managed by the reconciler (adopt: true)")
        managed_by = (obj.get("metadata", {}).get("labels", {}) or {}).get(MANAGED_BY_LABEL, "nobody")
        return Verdict("conflict", f"exists and is not managed by the reconciler (managed-by: {managed_by}); it is "
                       "left alone. Delete or rename it, or set `adopt: true` on the environment to take it over")
    if belongs_to(owner, target.environment.name, target.platform):
        listed = inventory is not None and inventory.environment == target.environment.name and (
            ref in inventory.listed)
        if listed or adopt:
            return Verdict("ours", owner=owner)
        if ORPHANED_ANNOTATION in (obj.get("metadata", {}).get("annotations") or {}):
            # Left behind when this same environment was removed (its inventory went with it): it comes back.
            return Verdict("ours", "reclaimed: this environment left it when it was removed (reconciler/orphaned)",
                           owner)
        return Verdict("conflict", f"carries the labels of {owner} but is in no inventory of {target.key} (another "
                       "installation, or a copy of the labels, made it); it is left alone. Delete it, or set "
                       "`adopt: true` on the environment to take it over", owner)
    if taken_over(target, owner):
        return Verdict("take-over", f"taken over from {owner} (takeOver)", owner)
    return Verdict("conflict", f"belongs to {owner}; it is left alone. {_take_over_hint(target, owner)}", owner)


def foreign_inventory(target: Target, inventory: Inventory | None) -> str | None:
    """Why the target's namespace is another environment's by the inventory itself (a rename or a move), or
    None when the inventory is this environment's or there is none."""
    if inventory is None or inventory.environment == target.environment.name:
        return None
    owner = Owner(inventory.environment, inventory.platform)
    if taken_over(target, owner):
        return None
    return (f"is recorded in the inventory of {owner}. {_take_over_hint(target, owner)}, or remove the target "
            "from one of the two environments")


def may_prune(obj: dict[str, Any], inventory: Inventory) -> bool:
    """Deleting needs the same proof as writing: our labels, of the inventory's own environment and Platform."""
    return belongs_to(owner_of(obj), inventory.environment, inventory.platform)
