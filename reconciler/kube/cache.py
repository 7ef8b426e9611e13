"""A :class:`ClusterClient` whose reads of what the reconciler manages come from watches, not from the server.

Converge code does not change: it lists by label selector and GETs ClusterRoles and CRDs by name as before, and
:class:`CachedClient` answers each from an :class:`~reconciler.kube.watch.Informer` started by the first such
read (which waits for that informer's first LIST). Everything else, and every read the server forbids to watch,
goes to the server as it would without a cache; writes always do. A write's response updates the cache before
the write returns, so the next plan never sees the object as it was before it.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from reconciler.kube import errors
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.resources import CLUSTER_ROLE, CUSTOM_RESOURCE_DEFINITION, RESOURCES, Resource, resource_for
from reconciler.kube.store import Key, key_of, version_of
from reconciler.kube.watch import Informer, Query
from reconciler.plan import inventory as inv

log = logging.getLogger("reconciler.kube.cache")

# Cluster-scoped objects the reconciler reads by name, since its role may read only the names it needs.
NAMED = {
    resource.collection_path(): (resource.kind, resource.api_version)
    for resource in (CLUSTER_ROLE, CUSTOM_RESOURCE_DEFINITION)
}
SYNC_SECONDS = 10.0  # how long a first read waits for its watch's first LIST
RELIST_SECONDS = 3600.0


class CachedClient(ClusterClient):
    """``client``'s cluster through watches. ``on_change`` hears of every change someone else made to a watched
    object (drift), from the informers' threads: its kind and its key (namespace, name)."""

    def __init__(self, client: ClusterClient, on_change: Callable[[str, Key], None] | None = None,
                 relist_seconds: float = RELIST_SECONDS) -> None:
        super().__init__(client.name, client.source)
        self._watcher = client  # the informers' own requests are not reads of this client
        self._informers: dict[Query, Informer] = {}
        self._informers_lock = threading.Lock()
        self._closed = threading.Event()
        self.on_change = on_change
        self.relist_seconds = relist_seconds
        self.namespaces: frozenset[str] | None = None  # see scoped()

    def scoped(self, namespaces: frozenset[str]) -> CachedClient:
        """This client, sharing its watches and connections, whose LISTs of watched kinds hold only what lives in
        ``namespaces``, those Namespaces and their inventories: a converge of a few targets then decodes only their
        objects. Never closed itself; closing this client ends it."""
        view = copy.copy(self)
        view.namespaces = namespaces
        return view

    def close(self) -> None:
        if self._closed.is_set():
            return
        with self._informers_lock:
            self._closed.set()
            informers = list(self._informers.values())
            self._informers.clear()
        for informer in informers:
            informer.stop()
        super().close()

    def authenticate(self) -> None:
        """One request with the current credential: raises Unauthorized when the server refuses it. Watches opened
        before a credential was revoked keep running, so a converge with nothing to write would never know."""
        with contextlib.suppress(errors.NotFound):
            super().request("GET", RESOURCES["Namespace"].object_path(None, "kube-system"),
                            "check the credential (get Namespace kube-system)")

    # -- reads -------------------------------------------------------------------------------------------------------

    def list_resource(self, resource: Resource, label_selector: str | None = None, namespace: str | None = None,
                      metadata_only: bool = False) -> builtins.list[Object]:
        if label_selector and not metadata_only:  # unselected lists (every Namespace) would hold the whole cluster
            query = Query(resource.collection_path(namespace), resource.kind, resource.api_version, label_selector)
            informer = self._informer(query)
            if informer is not None:
                return informer.store.items(self._keep(resource, namespace))
        return super().list_resource(resource, label_selector, namespace, metadata_only)

    def get(self, kind: str, namespace: str | None, name: str) -> Object | None:
        """From a watch that holds the object; otherwise (an object without our label, say) from the server."""
        for informer in self._holding(kind, namespace):
            found = informer.store.get((namespace or "", name))
            if found is not None:
                return found
        return super().get(kind, namespace, name)

    def request(self, method: str, path: str, subject: str, *, query: dict[str, Any] | None = None,
                body: Object | None = None, content_type: str = "application/json",
                accept: str = "application/json", timeout: float | None = None, fenced: bool = True) -> Object:
        collection, _, name = path.rpartition("/")
        if method == "GET" and not query and collection in NAMED:
            informer = self._informer(Query(collection, *NAMED[collection], field_selector=f"metadata.name={name}"))
            if informer is not None:
                found = informer.store.get(("", name))
                if found is None:
                    raise errors.NotFound(self.name, subject, 404, f"{name} not found")
                return found
        if method not in ("PATCH", "DELETE") or "dryRun" in (query or {}):
            return super().request(method, path, subject, query=query, body=body, content_type=content_type,
                                   accept=accept, timeout=timeout, fenced=fenced)
        key, stores = _key_of_path(path), [i.store for i in self._all() if _covers(i.query.path, path)]
        for store in stores:
            store.writing(key)
        response: Object | None = None
        try:
            response = super().request(method, path, subject, query=query, body=body, content_type=content_type,
                                       accept=accept, timeout=timeout, fenced=fenced)
            self._written(method, path, response)
            return response
        finally:
            for store in stores:
                store.written(key, None if response is None else version_of(response), deleted=method == "DELETE")

    # -- the cache ---------------------------------------------------------------------------------------------------

    def cached_objects(self) -> int:
        return sum(len(i.store) for i in self._all())

    def cached_bytes(self) -> int:
        return sum(i.store.size() for i in self._all())

    def cut_watches(self) -> builtins.list[str]:
        """The watches cut by their API server and not resumed yet: reads through them fail until they are."""
        return [str(i.query) for i in self._all() if i.broken is not None]

    def watch_requests(self) -> int:
        """LISTs and WATCHes the informers have sent so far."""
        return sum(i.requests for i in self._all())

    def _all(self) -> builtins.list[Informer]:
        with self._informers_lock:
            return list(self._informers.values())

    def _informer(self, query: Query) -> Informer | None:
        """The synced informer of ``query``, started by the first read; None when the server forbids watching it."""
        with self._informers_lock:
            if self._closed.is_set():
                raise errors.Unreachable(self.name, f"watch {query}", 0, "the client is closed; the next run retries")
            informer = self._informers.get(query)
            if informer is None:
                informer = Informer(self._watcher, query, self._changed, self.relist_seconds)
                self._informers[query] = informer
                informer.start()
        if informer.refused:
            return None  # said once, below
        try:
            informer.wait(SYNC_SECONDS)
        except errors.Forbidden as error:
            if not informer.refused:
                raise
            log.warning("cannot watch; reading from the server each time", extra={
                "cluster": self.name, "query": str(query), "error": str(error)})
            return None
        if informer.broken is not None:
            raise informer.broken
        return informer

    def _keep(self, resource: Resource, namespace: str | None) -> Callable[[Key], bool] | None:
        """Which objects of a LIST a scoped client decodes: those of its namespaces, the Namespaces themselves and
        their targets' inventories; None: all."""
        chosen = self.namespaces
        if chosen is None:
            return None
        if namespace == inv.SYSTEM_NAMESPACE and resource.kind == "ConfigMap":
            names = {inv.configmap_name(one) for one in chosen}
            return lambda key: key[1] in names
        if namespace is not None:
            return None
        if resource.kind == "Namespace":
            return lambda key: key[1] in chosen
        return (lambda key: key[0] in chosen) if resource.namespaced else None

    def _holding(self, kind: str, namespace: str | None) -> builtins.list[Informer]:
        """Synced informers of ``kind`` whose query covers ``namespace``."""
        try:
            resource = resource_for(kind)
        except ValueError:
            return []
        paths = {resource.collection_path(None), resource.collection_path(namespace)}
        return [i for i in self._all() if i.query.kind == kind and i.query.path in paths and i.synced.is_set()
                and not i.refused]

    def _written(self, method: str, path: str, response: Object) -> None:
        """Record a write: the object as the server returned it, or its absence."""
        kind = response.get("kind") if method == "PATCH" else None
        key = key_of(response) if kind else _key_of_path(path)
        for informer in self._all():
            if not _covers(informer.query.path, path):
                continue
            if kind and _selected(informer.query, response):
                informer.store.observe(response)
            else:
                informer.store.forget(key, version_of(response) if kind else 0)

    def _changed(self, query: Query, key: Key) -> None:
        log.debug("changed on the cluster", extra={"cluster": self.name, "query": str(query), "object": key})
        if self.on_change is not None:
            self.on_change(query.kind, key)


def _key_of_path(path: str) -> Key:
    """(namespace, name) of an object's path; a Namespace's own path (``/api/v1/namespaces/NAME``) is
    cluster-scoped."""
    parts = path.strip("/").split("/")
    namespaced = len(parts) >= 4 and parts[-4] == "namespaces"
    return parts[-3] if namespaced else "", parts[-1]


def _covers(collection: str, path: str) -> bool:
    """Whether an object at ``path`` belongs to the collection (namespaced, or the kind across namespaces)."""
    parent = path.rpartition("/")[0]
    return parent == collection or re.sub(r"/namespaces/[^/]+/", "/", parent) == collection


def _selected(query: Query, obj: Object) -> bool:
    """Whether ``obj`` matches the query's selectors (equality-based, as every selector the reconciler uses)."""
    metadata = obj.get("metadata", {})
    labels = metadata.get("labels") or {}
    for term in filter(None, query.label_selector.split(",")):
        name, _, value = term.partition("!=") if "!=" in term else term.partition("=")
        value = value.lstrip("=")
        if "!=" in term:
            if labels.get(name) == value:
                return False
        elif labels.get(name) != value:
            return False
    if query.field_selector.startswith("metadata.name="):
        return bool(metadata.get("name") == query.field_selector.partition("=")[2])
    return True
