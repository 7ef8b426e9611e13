"""What every write of one cluster's converge shares: the client, the options, the result it records in, and the
inventory each target keeps of what it owns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.converge.options import ConvergeOptions, Progress
from reconciler.converge.results import OF_CHANGE, ClusterResult, Entry, EntryAction, failure
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.plan import inventory as inv
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import Inventory, ObjectRef


@dataclass(frozen=True)
class Writer:
    client: ClusterClient
    options: ConvergeOptions
    result: ClusterResult
    progress: Progress
    platform: str

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    def now(self) -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def note(self, entry: Entry) -> None:
        """Record one entry of the result (list appends are atomic: the targets of a cluster run in threads)."""
        self.result.entries.append(entry)

    def done(self, target: TargetPlan, change: Change) -> None:
        self.note(Entry(OF_CHANGE[change.action], "done", change.ref, target.namespace))

    def failed(self, target: TargetPlan, change: Change | None, error: KubeError, message: str = "") -> None:
        """A request of this target failed: the entry keeps the object and the server's answer."""
        action: EntryAction = OF_CHANGE[change.action] if change is not None else "converge"
        self.note(failure(action, message or str(error), change.ref if change else None, target.namespace, error))

    def inventory(self, target: TargetPlan, objects: Iterable[ObjectRef]) -> Inventory:
        return Inventory(target.namespace, target.environment, self.options.revision, self.now(),
                         protected=target.protected, on_remove=target.on_remove, objects=tuple(sorted(objects)),
                         platform=self.platform, applied_by=self.options.applied_by)

    def record(self, target: TargetPlan, objects: Iterable[ObjectRef]) -> Inventory:
        stored = self.inventory(target, objects)
        if not self.dry_run:
            self.client.apply(inv.to_configmap(stored))
        return stored
