"""``--context CLUSTER=CONTEXT`` for the long-running commands (``run``, ``dev``), which read a new landscape at
every revision or save: the overrides are checked and applied to each landscape as it is loaded."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from reconciler import cli_flags
from reconciler.config.model import Landscape


def overridden(landscape: Landscape, given: Sequence[str], selected: str | None) -> Landscape:
    """The landscape with each overridden cluster connecting through its given context, in ``clusters`` and in
    every target alike (workers connect through either); a ReconcilerError names an unknown cluster."""
    if not given:
        return landscape
    overrides = cli_flags.context_overrides(given, selected, landscape.clusters)
    clusters = cli_flags.with_contexts(landscape.clusters, overrides)
    targets = tuple(dataclasses.replace(target, cluster=clusters[target.cluster.name])
                    if target.cluster.name in overrides else target for target in landscape.targets)
    return dataclasses.replace(landscape, clusters=clusters, targets=targets)
