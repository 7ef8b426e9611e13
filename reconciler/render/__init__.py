"""Pure rendering: one resolved environment target -> the Kubernetes objects it needs, in apply order."""

from __future__ import annotations

from reconciler.config.gcpause import without_cyclic_gc
from reconciler.config.model import Landscape, Target
from reconciler.render import access, agent, kueue, namespace
from reconciler.render.objects import Manifest, sort_for_apply


def render_target(target: Target, landscape: Landscape) -> list[Manifest]:
    """Every object of one target, deterministic and in dependency order."""
    objects = [
        *namespace.render(target, landscape.platform),
        *access.render(target, landscape.teams),
        *agent.render(target, landscape.platform),
        *kueue.render_target(target, landscape),
    ]
    return sort_for_apply(objects)


@without_cyclic_gc
def render_landscape(landscape: Landscape, targets: tuple[Target, ...] | None = None) -> dict[str, list[Manifest]]:
    """``{"cluster/namespace": objects}`` for the given targets (all by default)."""
    chosen = landscape.targets if targets is None else targets
    return {target.key: render_target(target, landscape) for target in sorted(chosen, key=lambda t: t.key)}
