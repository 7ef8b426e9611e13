"""Schema-valid documents -> a resolved :class:`Landscape`, or every reference error found on the way.

Profiles and ``extends`` merge in the order listed (see :mod:`reconciler.config.merge`); an environment's own
values win. ``targets``, ``protected``, ``onRemove``, ``adopt`` and ``takeOver`` describe one environment and are
never inherited. Each target becomes one :class:`Target`.
"""

from __future__ import annotations

from reconciler.config import agent_rules, kueue, model
from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.located import Document, LocatedDict
from reconciler.config.resolve_environment import EnvironmentResolver
from reconciler.config.resolve_memo import Ancestry, ResolveMemo, ancestry
from reconciler.config.resolve_platform import PlatformResolver
from reconciler.config.resolver_base import suggest
from reconciler.errors import ConfigError, Location


class _Resolver(PlatformResolver, EnvironmentResolver):
    def landscape(self, files: int, memo: ResolveMemo | None = None) -> model.Landscape:
        platform = self.platform()
        clusters = self.clusters()
        teams = self.teams()
        reuse = memo.reader(platform, self.guardrails, clusters, teams) if memo is not None and self.complete else None
        resolved: list[tuple[Document, Ancestry | None, model.Environment, LocatedDict]] = []
        cluster = platform.control_plane_cluster
        if cluster and cluster not in clusters and self.reportable("Cluster", cluster):
            document = self.named("Platform")[platform.name]
            self.error(document.where("spec", "controlPlane", "cluster"), "spec.controlPlane.cluster",
                       f"unknown cluster {cluster!r}" + suggest(cluster, clusters))
        for profile in self.named("Profile").values():
            self.settings(profile)
        environments = {}
        claimed: dict[tuple[str, str], tuple[str, Location]] = {}
        targets = []
        instances: dict[str, tuple[str, Location]] = {}
        for name, document in sorted(self.named("Environment").items()):
            inputs = ancestry(document, self.parents) if memo is not None else None
            earlier = reuse.of(document, inputs) if reuse is not None else None
            if earlier is not None:
                environment, self.settings_cache[(document.kind, document.name)] = earlier
            else:
                environment = self.environment(document, platform, teams, clusters)
            if memo is not None:
                resolved.append((document, inputs, environment, self.settings(document)))
            environments[name] = environment
            if (document.kind, document.name) not in self.incomplete:
                self.errors.extend(agent_rules.check(document, self.settings(document), instances))
            for index, key in enumerate(environment.targets):
                where = document.where("spec", "targets", index)
                if key in claimed:
                    other, first = claimed[key]
                    self.error(where, f"spec.targets[{index}]", f"cluster {key[0]!r} namespace {key[1]!r} is "
                               f"already claimed by environment {other!r} at {first}; each namespace belongs to "
                               "one environment")
                    continue
                claimed[key] = (name, where)
                if key[0] in clusters:
                    targets.append(model.Target(environment, clusters[key[0]], key[1], platform.name))
        if kueue.enforces_kueue(platform.quota_enforcement):
            self.errors.extend(kueue.cohort_errors(
                {name: e.kueue for name, e in environments.items() if e.kueue is not None}))
        for env_name in platform.risk_by_environment:
            if env_name not in environments and self.reportable("Environment", env_name):
                document = self.named("Platform")[platform.name]
                self.error(document.where("spec", "risk", "environments", env_name),
                           f"spec.risk.environments.{env_name}",
                           f"unknown environment {env_name!r}" + suggest(env_name, environments))
        if memo is not None and self.complete and not self.errors:
            memo.remember(platform, self.guardrails, clusters, teams, resolved)
        return model.Landscape(
            platform=platform,
            clusters=clusters,
            teams=teams,
            environments=environments,
            targets=tuple(targets),
            files=files,
            guardrails=self.guardrails,
            profiles=tuple(sorted(self.named("Profile"))),
        )


def resolve(documents: list[Document], files: int = 0, broken: set[tuple[str, str]] | None = None,
            all_read: bool = True, guardrails: Guardrails = DEFAULT_GUARDRAILS, memo: ResolveMemo | None = None,
            ) -> tuple[model.Landscape, list[ConfigError]]:
    """Resolve schema-valid documents; the landscape is meaningful only when no errors are returned.

    ``broken`` names documents that failed schema validation: references to them are not reported again.
    ``all_read`` is false when some file or document could not be read: references to unknown names are then
    not reported, since the names may be defined there. With a ``memo``, environments that nothing changed since
    the memo's last resolve are taken from it, and a resolve without errors is remembered in it
    (:mod:`reconciler.config.resolve_memo`).
    """
    resolver = _Resolver(documents, broken or set(), all_read, guardrails)
    landscape = resolver.landscape(files, memo)
    return landscape, resolver.errors
