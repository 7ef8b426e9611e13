"""The controller's guardrails: read from the clusters it converges when it starts, then kept.

At the first valid revision the controller reads each cluster's guardrails ConfigMap (the clusters are known only
from the repository) and validates every revision against the intersection with a --guardrails file, if given.
A cluster that could not be read is tried again at the next revision; until then it counts as the file or the
built-in defaults (its own admission policy still holds the reconciler to its guardrails). Changing the guardrails
of a running installation takes a restart of the controller (`kubectl rollout restart`), as the policy's params
change at once while the controller's view does not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from reconciler import config
from reconciler.config import contexts, guardrails
from reconciler.config.guardrails import Guardrails
from reconciler.config.model import Landscape
from reconciler.config.resolve_memo import ResolveMemo
from reconciler.controller.documents import Documents
from reconciler.kube.guardrails import read_installed

log = logging.getLogger("reconciler.guardrails")


class StartGuardrails:
    def __init__(self, given: Guardrails | None, kubeconfig: Path | None, cluster: str | None,
                 context_overrides: Sequence[str] = ()) -> None:
        self.given = given
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.context_overrides = tuple(context_overrides)
        self.installed: Guardrails | None = None
        self.documents = Documents()  # a commit parses only the documents it changed
        self.resolved = ResolveMemo()  # and resolves only the environments they reach

    def load(self, root: Path) -> Landscape:
        """The landscape at ``root`` validated against the installed guardrails (InvalidRepository if it asks for
        more than they allow), each cluster connecting through its --context override if one was given."""
        landscape = self._load(root, self.installed or self.given or guardrails.DEFAULT)
        if self.installed is not None:
            return landscape
        names = [self.cluster] if self.cluster else sorted(landscape.clusters)
        found = read_installed([landscape.clusters[n] for n in names if n in landscape.clusters], self.kubeconfig,
                               self.given)
        for note in found.notes:
            log.info(f"guardrails: {note}", extra={"guardrails": found.guardrails.source})
        for name, error in sorted(found.failed.items()):
            log.warning("cannot read a cluster's guardrails; trying again at the next revision",
                        extra={"cluster": name, "error": error})
        if not found.failed:
            self.installed = found.guardrails
        if guardrails.same_limits(found.guardrails, landscape.guardrails):
            return landscape
        return self._load(root, found.guardrails)

    def _load(self, root: Path, limits: Guardrails) -> Landscape:
        landscape = config.landscape_from(self.documents.load(root), limits, memo=self.resolved)
        return contexts.overridden(landscape, self.context_overrides, self.cluster)
