"""Profile merge: ``extends`` merges profiles and environments in the order listed (see
:mod:`reconciler.config.merge`), an environment's own values last."""

from __future__ import annotations

from typing import cast

from reconciler.config import rules
from reconciler.config.located import Document, LocatedDict, LocatedList
from reconciler.config.merge import merge
from reconciler.config.resolver_base import ResolverBase, suggest

# These describe one environment and are never inherited.
NOT_INHERITED = frozenset({"extends", "targets", "protected", "onRemove", "adopt", "takeOver"})


class ProfileResolver(ResolverBase):
    def parent(self, name: str) -> Document | None:
        profile = self.named("Profile").get(name)
        return profile if profile is not None else self.named("Environment").get(name)

    def settings(self, document: Document, chain: tuple[str, ...] = ()) -> LocatedDict:
        """The merged, inheritable settings of a profile or environment (its own values last)."""
        key = (document.kind, document.name)
        if key in self.settings_cache:
            return self.settings_cache[key]
        spec: LocatedDict = document.body["spec"]
        self.errors.extend(rules.duplicate_entries(document) + rules.reserved_labels(document))
        merged: LocatedDict | None = None  # the first parent's settings are shared as they are, not copied
        extends = spec.get("extends", LocatedList(spec.location))
        for index, parent_name in enumerate(extends):
            where = extends.where(index) if isinstance(extends, LocatedList) else spec.location
            field = f"spec.extends[{index}]"
            if parent_name in chain or parent_name == document.name:
                cycle = " -> ".join((*chain, document.name, parent_name))
                self.error(where, field, f"extends forms a cycle ({cycle}); remove one of the links")
                self.incomplete.add(key)
                continue
            parent = self.parent(parent_name)
            if parent is None and not self.reportable("Profile", parent_name, "Environment"):
                self.incomplete.add(key)
                continue
            if parent is None:
                self.error(where, field, f"unknown profile or environment {parent_name!r}"
                           + suggest(parent_name, [*self.named("Profile"), *self.named("Environment")]))
                self.incomplete.add(key)
                continue
            if parent_name in self.named("Profile") and parent_name in self.named("Environment"):
                self.error(where, field, f"{parent_name!r} is both a Profile and an Environment; rename one")
            inherited = self.settings(parent, (*chain, document.name))
            merged = inherited if merged is None else cast(LocatedDict, merge(merged, inherited))
            if (parent.kind, parent.name) in self.incomplete:
                self.incomplete.add(key)
        own = LocatedDict(spec.location)
        for item, value in spec.items():
            if item not in NOT_INHERITED:
                own[item] = value
                own.key_locations[item] = spec.where(item)
        settings = cast(LocatedDict, merge(LocatedDict(spec.location) if merged is None else merged, own))
        self.settings_cache[key] = settings
        return settings
