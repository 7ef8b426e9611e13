"""Pure: which targets a new revision changes, so that only they are rendered, dry-run and compared again.

A target renders from its resolved environment (its profiles merged in), its cluster, the teams its access names
and the Platform (:func:`reconciler.render.render_target`); nothing else of the landscape. The model is made of
frozen dataclasses compared field by field, so when every one of those inputs is equal between the revision a
cluster runs and a new one, the target renders the same objects, and an unchanged target needs none of that work
again. Anything that cannot be shown equal this way (a target added, given to another environment, or whose
inputs differ in any field, a line number included) is redone: the comparison may say "changed" too often, never
too rarely.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.config.model import Landscape, Target


def same_inputs(before: Landscape, after: Landscape, was: Target, now: Target) -> bool:
    """Whether ``now`` (of ``after``) renders from exactly what ``was`` (of ``before``) rendered from."""
    if was.key != now.key or was.platform != now.platform or was.cluster != now.cluster:
        return False
    if was.environment != now.environment or before.platform != after.platform:
        return False
    teams = {entry.name for entry in now.environment.access if entry.subject == "team"}
    return all(before.teams.get(team) == after.teams.get(team) for team in teams)


def changed_targets(before: Landscape | None, after: Landscape, targets: Sequence[Target]) -> tuple[Target, ...]:
    """The ``targets`` of ``after`` whose rendered objects may differ from ``before``'s: every one when there is no
    ``before``, else those that are new or whose inputs are not all equal (what :func:`same_inputs` compares,
    with the documents many targets share compared once)."""
    if before is None or before.guardrails != after.guardrails or before.platform != after.platform:
        return tuple(targets)
    previous = {target.key: target for target in before.targets}
    clusters = {name for name, cluster in after.clusters.items() if before.clusters.get(name) == cluster}
    teams = {name for name, team in after.teams.items() if before.teams.get(name) == team}

    def same(was: Target, now: Target) -> bool:
        return (was.platform == now.platform and now.cluster.name in clusters and was.cluster.name == now.cluster.name
                and was.environment == now.environment
                and all(entry.name in teams for entry in now.environment.access if entry.subject == "team"))

    return tuple(target for target in targets if (was := previous.get(target.key)) is None or not same(was, target))


def removed_keys(before: Landscape, after: Landscape) -> set[str]:
    """``cluster/namespace`` of the targets ``before`` had and ``after`` has not."""
    return {t.key for t in before.targets} - {t.key for t in after.targets}
