"""The objects one watch holds, kept small and ordered by resourceVersion.

Each object is stored as compact JSON bytes and decoded afresh for every read, so a caller that edits what it
read (planning adds ``kind``, for one) can never change what the next reader sees, and thousands of objects take
a fraction of the memory their dicts would. ``managedFields`` entries of other managers are dropped: planning
reads only the reconciler's own Apply entry (fields it applied before and no longer wants,
:func:`reconciler.plan.changes.removed_fields`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.config.model import FIELD_MANAGER

Object = dict[str, Any]
Key = tuple[str, str]  # namespace ("" when cluster-scoped), name


@dataclass(frozen=True)
class Entry:
    version: int
    body: bytes
    content: bytes  # a digest of what a person can change: the object without status and resourceVersion


def key_of(obj: Object) -> Key:
    metadata = obj.get("metadata", {})
    return metadata.get("namespace") or "", metadata.get("name", "")


def version_of(obj: Object) -> int:
    """resourceVersion as a number: etcd's revision, which the API server hands out in increasing order."""
    try:
        return int(obj.get("metadata", {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def trimmed(obj: Object) -> Object:
    """``obj`` without the managedFields entries planning never reads."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj
    ours = [m for m in metadata["managedFields"] or []
            if m.get("manager") == FIELD_MANAGER and m.get("operation") == "Apply"]
    kept = {k: v for k, v in metadata.items() if k != "managedFields"}
    if ours:
        kept["managedFields"] = ours
    return {**obj, "metadata": kept}


# Annotations the cluster's own controllers keep up to date after each write of ours: the deployment controller's
# revision counter follows every template change, so telling it would converge the target again for nothing.
CONTROLLER_ANNOTATIONS = frozenset({"deployment.kubernetes.io/revision"})


def _content_metadata(metadata: Object) -> Object:
    kept = {k: v for k, v in metadata.items() if k != "resourceVersion"}
    annotations = kept.get("annotations")
    if isinstance(annotations, dict) and annotations.keys() & CONTROLLER_ANNOTATIONS:
        kept["annotations"] = {k: v for k, v in annotations.items() if k not in CONTROLLER_ANNOTATIONS}
    return kept


def entry_of(obj: Object) -> Entry:
    small = trimmed(obj)
    metadata = _content_metadata(small.get("metadata", {}))
    content = {**{k: v for k, v in small.items() if k != "status"}, "metadata": metadata}
    return Entry(version_of(obj), _dump(small), hashlib.blake2b(_dump(content), digest_size=16).digest())


def _changed(kind: str, held: Entry | None, entry: Entry) -> bool:
    if kind == "DELETED":
        return held is not None  # a deletion the reconciler made is forgotten before its event arrives
    return held is None or held.content != entry.content


def _dump(obj: Object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


class Store:
    """Objects by key. ``on_change`` hears of every change someone else made (never of the reconciler's own
    writes, which it records itself through :meth:`observe`); status-only updates are no change.

    The watch may bring a write's own event before the write's response is back. A change seen while the
    reconciler writes that object (:meth:`writing`) is therefore told only once the write is done
    (:meth:`written`), and only when it is newer than what the write left, or is no deletion when the write was
    one: the echo of the reconciler's own write is no drift, and would make the worker converge again for
    nothing (everything, when the object is an inventory, which belongs to no one target)."""

    def __init__(self, on_change: Callable[[Key], None] | None = None) -> None:
        self._entries: dict[Key, Entry] = {}
        self._gone: dict[Key, int] = {}  # deleted by the reconciler at this version: older events are stale
        self._writing: dict[Key, int] = {}  # writes in flight, by key
        self._unheard: dict[Key, tuple[int, bool]] = {}  # changes seen meanwhile: the newest version, a deletion
        self._lock = threading.Lock()
        self.on_change = on_change

    def __len__(self) -> int:
        return len(self._entries)

    def replace(self, items: list[Object]) -> None:
        """A fresh LIST: everything it does not hold is gone."""
        self.replace_entries({key_of(o): entry_of(o) for o in items})

    def replace_entries(self, fresh: dict[Key, Entry]) -> None:
        """:meth:`replace` with the LIST already made into entries (page by page, so that no more than one page of
        decoded objects is held at once)."""
        with self._lock:
            old, self._entries, self._gone = self._entries, fresh, {}
        changed = {k for k in old.keys() | fresh.keys() if (old.get(k) and old[k].content) !=
                   (fresh.get(k) and fresh[k].content)}
        for key in sorted(changed) if old else ():
            self._tell(key)

    def event(self, kind: str, obj: Object) -> None:
        """One watch event (ADDED, MODIFIED, DELETED)."""
        key, entry = key_of(obj), entry_of(obj)
        with self._lock:
            held = self._entries.get(key)
            if (held is not None and entry.version <= held.version) or entry.version <= self._gone.get(key, -1):
                return  # the echo of a write already recorded, or older than a deletion we made
            if kind == "DELETED":
                self._entries.pop(key, None)
            else:
                self._entries[key] = entry
            changed = _changed(kind, held, entry)
            if changed and key in self._writing:
                self._unheard[key] = (entry.version, kind == "DELETED")
                return
        if changed:
            self._tell(key)

    def writing(self, key: Key) -> None:
        """The reconciler is about to write the object at ``key``."""
        with self._lock:
            self._writing[key] = self._writing.get(key, 0) + 1

    def written(self, key: Key, version: int | None, deleted: bool = False) -> None:
        """The write of :meth:`writing` is done: the object is at ``version`` now (gone when ``deleted``), or
        None when the write failed. A change seen meanwhile that the write does not account for is told now."""
        with self._lock:
            left = self._writing.pop(key, 1) - 1
            if left > 0:
                self._writing[key] = left
            seen = self._unheard.pop(key, None)
        if seen is None:
            return
        ours = version is not None and (seen[1] if deleted else seen[0] <= version)
        if not ours:
            self._tell(key)

    def observe(self, obj: Object) -> None:
        """The object as a write by the reconciler returned it: newer than anything the watch has said yet."""
        key, entry = key_of(obj), entry_of(obj)
        with self._lock:
            held = self._entries.get(key)
            if held is None or entry.version > held.version:
                self._entries[key] = entry

    def forget(self, key: Key, version: int) -> None:
        """Deleted by the reconciler; ``version`` is the last one it saw (0 when unknown)."""
        with self._lock:
            held = self._entries.pop(key, None)
            self._gone[key] = max(version, held.version if held else 0)

    def items(self, keep: Callable[[Key], bool] | None = None) -> list[Object]:
        """Every object held, or those whose key ``keep`` accepts (only they are decoded)."""
        with self._lock:
            bodies = [e.body for k, e in self._entries.items() if keep is None or keep(k)]
        return [json.loads(body) for body in bodies]

    def get(self, key: Key) -> Object | None:
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else dict(json.loads(entry.body))

    def size(self) -> int:
        """Bytes held, for the memory bound."""
        with self._lock:
            return sum(len(e.body) + len(e.content) for e in self._entries.values())

    def _tell(self, key: Key) -> None:
        if self.on_change is not None:
            self.on_change(key)
