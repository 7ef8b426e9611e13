"""``--cluster NAME`` and ``--context CLUSTER=CONTEXT``: which clusters a command works on and through which
kubeconfig context. The long-running commands (``run``, ``dev``) read a new landscape at every revision or save:
the overrides are checked and applied to each landscape as it is loaded."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.config.model import Cluster, Landscape
from reconciler.errors import ReconcilerError


def selected_clusters(known: Mapping[str, Cluster], selected: str | None) -> list[str]:
    """The clusters a command works on: ``--cluster`` alone, else every cluster of the repository, by name; a
    ReconcilerError when ``--cluster`` names none of them."""
    if selected is None:
        return sorted(known)
    if selected not in known:
        raise ReconcilerError(f"--cluster {selected}: no such cluster in the repository; known: "
                              f"{', '.join(sorted(known))}")
    return [selected]


def overridden(landscape: Landscape, given: Sequence[str], selected: str | None) -> Landscape:
    """The landscape with each overridden cluster connecting through its given context, in ``clusters`` and in
    every target alike (workers connect through either); a ReconcilerError names an unknown cluster."""
    if not given:
        return landscape
    overrides = context_overrides(given, selected, landscape.clusters)
    clusters = with_contexts(landscape.clusters, overrides)
    targets = tuple(dataclasses.replace(target, cluster=clusters[target.cluster.name])
                    if target.cluster.name in overrides else target for target in landscape.targets)
    return dataclasses.replace(landscape, clusters=clusters, targets=targets)


def context_overrides(given: Sequence[str], selected: str | None, known: Mapping[str, Cluster]) -> dict[str, str]:
    """``--context`` values as cluster name -> context; an unknown cluster name is an error that lists the known."""
    overrides: dict[str, str] = {}
    for item in given:
        name, sep, context = item.partition("=")
        if not sep:
            if selected is None:
                raise ReconcilerError(f"--context {item}: say which cluster it is for, as --context CLUSTER={item} "
                                      f"(clusters: {', '.join(sorted(known))}), or select one with --cluster")
            name, context = selected, item
        if name not in known:
            raise ReconcilerError(f"--context {item}: no cluster {name!r} in the repository; known: "
                                  f"{', '.join(sorted(known))}")
        if not context:
            raise ReconcilerError(f"--context {item}: the context name is empty; write --context {name}=CONTEXT")
        overrides[name] = context
    return overrides


def with_contexts(clusters: Mapping[str, Cluster], overrides: Mapping[str, str]) -> dict[str, Cluster]:
    """The clusters, each connecting through its overriding context where one was given."""
    return {
        name: dataclasses.replace(cluster, connection=dataclasses.replace(
            cluster.connection, context=overrides[name], in_cluster=False, kubeconfig_secret=None,
            context_location=None))
        if name in overrides else cluster
        for name, cluster in clusters.items()
    }
