"""Environments resolved for one landscape, reused by the next: a commit resolves only the environments it touches.

An environment resolves from its own document, the documents its ``extends`` reach (profiles and environments,
transitively), the Platform, the guardrails, the clusters of its targets and the teams its access names; nothing
else. A document's digest names its path, text and place in its file (:class:`reconciler.config.located.
Document`), so an environment whose document and ancestors have the digests they had, in a landscape whose Platform
and guardrails are equal and where its clusters and teams are equal, resolves to what it resolved to before, with
the same checks passed: that result is taken as it is. Only a resolve of a complete repository (every file read,
every document schema-valid) whose own checks found no error is remembered, so a reused environment has no error to
tell; a revision refused for something outside the resolve (a duplicate key in some file) may leave its clean
environments remembered, each a resolve of its own inputs. Only the last one is kept: memory stays that of one
revision.

What spans environments (namespaces claimed twice, agent instances, Kueue cohorts, the Platform's risk settings) is
checked again over every environment, reused or not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.config import model
from reconciler.config.guardrails import Guardrails
from reconciler.config.located import Document, LocatedDict

Ancestry = tuple[tuple[str, bytes, bytes], ...]  # per name ``extends`` reaches: its Profile's and Environment's digest


@dataclass(frozen=True)
class _Resolved:
    ancestry: Ancestry
    environment: model.Environment
    settings: LocatedDict  # the merged settings, which the cross-environment checks read


@dataclass
class ResolveMemo:
    """The environments of the last resolve that found no error, by their document's digest."""

    platform: model.Platform | None = None
    guardrails: Guardrails | None = None
    clusters: Mapping[str, model.Cluster] = field(default_factory=dict)
    teams: Mapping[str, model.Team] = field(default_factory=dict)
    environments: dict[bytes, _Resolved] = field(default_factory=dict)

    def reader(self, platform: model.Platform, guardrails: Guardrails, clusters: Mapping[str, model.Cluster],
               teams: Mapping[str, model.Team]) -> Reuse | None:
        """What a resolve with these repository-wide values may take from the last one (None: nothing)."""
        if not self.environments or platform != self.platform or guardrails != self.guardrails:
            return None
        same_clusters = frozenset(n for n, c in clusters.items() if self.clusters.get(n) == c)
        same_teams = frozenset(n for n, t in teams.items() if self.teams.get(n) == t)
        return Reuse(self.environments, same_clusters, same_teams)

    def remember(self, platform: model.Platform, guardrails: Guardrails, clusters: Mapping[str, model.Cluster],
                 teams: Mapping[str, model.Team],
                 resolved: list[tuple[Document, Ancestry | None, model.Environment, LocatedDict]]) -> None:
        """Keep a resolve that found no error, in place of the one before."""
        self.platform, self.guardrails, self.clusters, self.teams = platform, guardrails, clusters, teams
        self.environments = {document.digest: _Resolved(ancestry, environment, settings)
                             for document, ancestry, environment, settings in resolved
                             if document.digest and ancestry is not None}


class Reuse:
    """One resolve's view of the memo: which of its environments resolve as they did."""

    def __init__(self, environments: dict[bytes, _Resolved], clusters: frozenset[str], teams: frozenset[str]) -> None:
        self._environments = environments
        self._clusters = clusters
        self._teams = teams

    def of(self, document: Document, ancestry: Ancestry | None) -> tuple[model.Environment, LocatedDict] | None:
        """The environment of ``document`` and its merged settings as the last resolve made them, when nothing they
        come from changed."""
        found = self._environments.get(document.digest) if document.digest and ancestry is not None else None
        if found is None or found.ancestry != ancestry:
            return None
        environment = found.environment
        if any(cluster not in self._clusters for cluster, _ in environment.targets):
            return None
        if any(entry.name not in self._teams for entry in environment.access if entry.subject == "team"):
            return None
        return environment, found.settings


def ancestry(document: Document, parents: Callable[[str], tuple[Document | None, Document | None]],
             ) -> Ancestry | None:
    """The digests of the Profile and the Environment of each name ``document``'s ``extends`` reach, depth first in
    the order listed; None when a name reaches itself (a cycle, an error of its own) or a document has no digest."""
    found: list[tuple[str, bytes, bytes]] = []

    def walk(current: Document, chain: tuple[str, ...]) -> bool:
        extends = current.body.get("spec", {}).get("extends", ())
        for name in extends if isinstance(extends, list) else ():
            if not isinstance(name, str) or name in chain:
                return False
            profile, environment = parents(name)
            if (profile is not None and not profile.digest) or (environment is not None and not environment.digest):
                return False
            found.append((name, profile.digest if profile else b"", environment.digest if environment else b""))
            parent = profile if profile is not None else environment
            if parent is not None and not walk(parent, (*chain, name)):
                return False
        return True

    return tuple(found) if walk(document, (document.name,)) else None
