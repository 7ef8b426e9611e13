"""`reconciler dev`: watch a working tree and, on every save, re-validate and re-plan (and with --apply, converge).

Errors are printed as ``path:line: field: message`` the moment a file is saved; a valid tree prints the plan
against the clusters (or, when a cluster cannot be reached, says so and plans the others).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

import watchfiles

from reconciler import config
from reconciler.config import contexts
from reconciler.config.model import Landscape
from reconciler.converge import engine as converge
from reconciler.errors import InvalidRepository, ReconcilerError
from reconciler.kube.client import ClusterClient
from reconciler.kube.connect import ClientCache, ConnectOptions, connect_landscape
from reconciler.report import text as report
from reconciler.source.tree import YAML_SUFFIXES


class _YamlFilter(watchfiles.DefaultFilter):
    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        return path.endswith(YAML_SUFFIXES) and super().__call__(change, path)


class DevLoop:
    def __init__(self, repo: Path, *, apply: bool, kubeconfig: Path | None, cluster: str | None,
                 out: TextIO = sys.stdout, context_overrides: Sequence[str] = ()) -> None:
        self.repo = repo
        self.context_overrides = tuple(context_overrides)
        self.apply = apply
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.out = out
        self.stop = threading.Event()
        self._clients = ClientCache()

    def say(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def _clients_for(self, landscape: Landscape) -> dict[str, ClusterClient]:
        """The clusters' clients, kept across saves; a cluster that cannot be reached is said and left out."""
        options = ConnectOptions(self.kubeconfig, self.context_overrides, self.cluster)
        try:
            found = connect_landscape(landscape.clusters, options, cache=self._clients)
        except ReconcilerError as error:  # --cluster names no cluster, or two Cluster documents reach one server
            self.say(str(error))
            return {}
        for name, unusable in sorted(found.unusable.items()):
            self.say(f"cluster {name}: {unusable}")
        return found.clients

    def once(self, changed: Iterable[str] = ()) -> bool:
        """Validate and plan (or converge) the tree as it is now; True when it is valid."""
        stamp = time.strftime("%H:%M:%S")
        files = sorted({str(Path(p).relative_to(self.repo.resolve())) for p in changed
                        if Path(p).is_relative_to(self.repo.resolve())})
        self.say(f"--- {stamp}" + (f" changed: {', '.join(files)}" if files else ""))
        try:
            landscape = contexts.overridden(config.load_landscape(self.repo), self.context_overrides,
                                            self.cluster)
        except InvalidRepository as invalid:
            for error in invalid.errors:
                self.say(str(error))
            self.say(f"{len(invalid.errors)} error(s); fix them and save again")
            return False
        except ReconcilerError as error:
            self.say(f"error: {error}")
            return False
        self.say(f"valid: {landscape.summary()}")
        clients = self._clients_for(landscape)
        targets = landscape.select(self.cluster)
        if self.apply:
            results = converge.converge(landscape, clients, converge.ConvergeOptions(revision="dev"), targets,
                                        lambda _: None)
            self.say(report.text(results, heading="Applied"))
        else:
            results = [converge.plan_only(clients[name], landscape,
                                          tuple(t for t in targets if t.cluster.name == name), False)
                       for name in sorted(clients)]
            self.say(report.text(results))
        return True

    def run(self) -> int:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stop.set()

        previous = signal.signal(signal.SIGTERM, stop)
        mode = "validate, plan and apply" if self.apply else "validate and plan"
        self.say(f"watching {self.repo} ({mode} on every save; Ctrl-C stops)")
        try:
            self.once()
            for changes in watchfiles.watch(self.repo, watch_filter=_YamlFilter(), stop_event=self.stop,
                                            rust_timeout=500, raise_interrupt=False, debounce=300):
                self.once(path for _, path in changes)
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._clients.close()
        return 0
