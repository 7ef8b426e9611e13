"""One cluster's API, as raw JSON: LIST with a label selector (paginated), GET, server-side apply, DELETE.

Responses are decoded with ``json.loads`` and never turned into the ``kubernetes`` client's models, which is
slow on large lists; that package is not even imported unless :attr:`ClusterClient.api` is asked for. Every
request has a client-side deadline well under the API server's own 60 s, so a
cluster whose etcd hangs fails within seconds. Every write passes the client's write guard (fencing, see
:mod:`reconciler.kube.fence`) before any work and again once prepared, and is then counted, as sent. A 401
re-reads the credentials once and retries.
"""

from __future__ import annotations

import builtins
import json
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from reconciler.config.model import FIELD_MANAGER
from reconciler.kube import errors, wire
from reconciler.kube.credentials import ApiSource
from reconciler.kube.endpoint import Endpoint, api_client, from_library
from reconciler.kube.fence import WriteGuard
from reconciler.kube.resources import Resource, resource_for
from reconciler.kube.transport import Transport

if TYPE_CHECKING:
    from kubernetes import client as k8s

PAGE_SIZE = 500
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
# connect, read: well under the API server's 60 s request timeout, so a hanging server (etcd down) is reported
# within seconds; every request the reconciler sends is a small LIST page or a single-object write.
TIMEOUT_SECONDS = (3.0, 8.0)

Object = dict[str, Any]


def describe(obj: Object) -> str:
    metadata = obj.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{obj.get('kind')} {namespace + '/' if namespace else ''}{metadata.get('name')}"


class ClusterClient:
    """Talks to one cluster. Thread-safe: converge uses one client from several threads."""

    def __init__(self, name: str, api: Endpoint | ApiSource | k8s.ApiClient) -> None:
        """``api``: where to connect; a ``kubernetes`` ApiClient (a test's, acting as some user) is used with
        its configuration's settings and credential."""
        self.name = name
        if isinstance(api, ApiSource):
            self.source = api
        else:
            self.source = ApiSource.fixed(name, api if isinstance(api, Endpoint) else from_library(api.configuration))
        self._lock = threading.Lock()
        self.writes = 0
        self.reads = 0
        self.guard: WriteGuard | None = None
        # Told the resource (plural) of every write it sends, dry runs aside (they change nothing).
        self.on_write: Callable[[str], None] | None = None
        self.unauthorized_since: float | None = None  # monotonic time of the first 401 in a row
        self._current_transport: Transport | None = None
        self._library: tuple[Endpoint, k8s.ApiClient] | None = None

    @property
    def endpoint(self) -> Endpoint:
        return self.source.current()

    @property
    def api(self) -> k8s.ApiClient:
        """The ``kubernetes`` package's client of the current endpoint, for the code that still speaks through it
        (the controller's watches); built, and the package imported, when first asked."""
        endpoint = self.endpoint
        with self._lock:
            kept = self._library
            if kept is None or kept[0] is not endpoint:
                if kept is not None:
                    kept[1].close()
                kept = self._library = (endpoint, api_client(endpoint))
        return kept[1]

    @property
    def server(self) -> str:
        return self.endpoint.host

    def close(self) -> None:
        if self._current_transport is not None:
            self._current_transport.close()
        if self._library is not None:
            self._library[1].close()

    # -- transport ---------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, subject: str, *, query: dict[str, Any] | None = None,
                body: Object | None = None, content_type: str = "application/json",
                accept: str = "application/json", timeout: float | None = None, fenced: bool = True) -> Object:
        """One request. ``fenced=False`` only for the Lease itself, which is how a replica earns the right to write."""
        guard = self.guard if fenced and method != "GET" else None
        if guard is not None:
            guard(subject)  # before any work: a fenced converge stops at its first write
        if method == "GET":
            with self._lock:
                self.reads += 1
        # Serialised once: a retry after a 401 sends the same bytes.
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        target = path + "?" + urlencode(query) if query else path
        try:
            return self._send(method, target, subject, query, payload, content_type, accept, timeout, guard)
        except errors.Unauthorized:
            if not self.source.reload(f"HTTP 401 on {subject}"):
                raise
            return self._send(method, target, subject, query, payload, content_type, accept, timeout, guard)

    def _transport(self) -> Transport:
        endpoint = self.endpoint  # read again after a 401 or on schedule: a new endpoint gets a new transport
        transport = self._current_transport
        if transport is None or transport.endpoint is not endpoint:
            if transport is not None:
                transport.close()
            transport = self._current_transport = Transport(endpoint, endpoint.pool_size)
        return transport

    def _send(self, method: str, target: str, subject: str, query: dict[str, Any] | None, payload: bytes | None,
              content_type: str, accept: str, timeout: float | None, guard: WriteGuard | None) -> Object:
        try:
            transport = self._transport()
        except OSError as exc:  # a CA or client certificate file that cannot be read or used
            raise errors.Unreachable(self.name, subject, 0, f"cannot use the TLS settings of {self.server}: {exc}; "
                                     "check the certificates its kubeconfig names") from exc
        headers = transport.headers(accept, content_type)
        if method != "GET":
            self._sending(target, subject, query, guard)
        deadline = TIMEOUT_SECONDS if timeout is None else (min(TIMEOUT_SECONDS[0], timeout), timeout)
        try:
            status, data = transport.send(method, target, payload, headers, deadline)
        except OSError as exc:
            if _timed_out(exc):
                raise errors.Unreachable(self.name, subject, 0, f"{self.server} did not answer within "
                                         f"{deadline[1]:.0f}s (an API server that cannot reach its etcd hangs like "
                                         "this); retrying with backoff") from exc
            raise errors.Unreachable(self.name, subject, 0, f"cannot reach {self.server}: {_reason(exc)}; check that "
                                     "the cluster is up and that its kubeconfig context names the right server"
                                     ) from exc
        self._note_auth(status)
        if not 200 <= status < 300:
            raise errors.from_response(self.name, subject, status, data)
        decoded: Object = json.loads(data) if data else {}
        return decoded

    def _sending(self, target: str, subject: str, query: dict[str, Any] | None, guard: WriteGuard | None) -> None:
        """A write about to leave: asked once more as late as this layer can (a pause while the request was being
        prepared is caught here; one between here and the socket only by the API server's fence policy), then
        counted, as sent."""
        if guard is not None:
            guard(subject)
        with self._lock:
            self.writes += 1
        if self.on_write is not None and "dryRun" not in (query or {}):
            self.on_write(resource_of(target.partition("?")[0]))

    # -- reads -------------------------------------------------------------------------------------------------------

    def list(self, kind: str, label_selector: str | None = None, namespace: str | None = None,
             metadata_only: bool = False) -> builtins.list[Object]:
        """Every object of ``kind`` matching the selector, following ``continue`` tokens."""
        resource = resource_for(kind)
        return self.list_resource(resource, label_selector, namespace, metadata_only)

    def list_resource(self, resource: Resource, label_selector: str | None = None, namespace: str | None = None,
                      metadata_only: bool = False) -> builtins.list[Object]:
        items: builtins.list[Object] = []
        query: dict[str, Any] = {"limit": PAGE_SIZE}
        if label_selector:
            query["labelSelector"] = label_selector
        subject = f"list {resource.plural}" + (f" ({label_selector})" if label_selector else "")
        accept = METADATA_ONLY if metadata_only else "application/json"
        while True:
            page = self.request("GET", resource.collection_path(namespace), subject, query=query, accept=accept)
            for item in page.get("items", []):
                item.setdefault("kind", resource.kind)
                item.setdefault("apiVersion", resource.api_version)
                items.append(item)
            token = page.get("metadata", {}).get("continue")
            if not token:
                return items
            query["continue"] = token

    def get(self, kind: str, namespace: str | None, name: str) -> Object | None:
        resource = resource_for(kind)
        try:
            return self.request("GET", resource.object_path(namespace, name), f"get {kind} {name}")
        except errors.NotFound:
            return None

    # -- writes ------------------------------------------------------------------------------------------------------

    def apply(self, obj: Object, *, dry_run: bool = False, force: bool = True) -> Object:
        """Server-side apply under the reconciler's field manager."""
        resource = resource_for(obj["kind"])
        metadata = obj["metadata"]
        query: dict[str, Any] = {"fieldManager": FIELD_MANAGER, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", resource.object_path(metadata.get("namespace"), metadata["name"]),
                            f"apply {describe(obj)}", query=query, body=obj,
                            content_type="application/apply-patch+yaml")

    def dry_run_create(self, obj: Object) -> Object:
        """A server-side dry run of creating ``obj`` (POST): the server's validation, defaulting and admission of a
        new object, with unknown and duplicate fields refused (``fieldValidation=Strict``). Cheaper for the server
        than a dry-run apply; ``converge.preflight`` says when it checks the same."""
        resource = resource_for(obj["kind"])
        query = {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict", "dryRun": "All"}
        return self.request("POST", resource.collection_path(obj["metadata"].get("namespace")),
                            f"create {describe(obj)}", query=query, body=obj)

    def delete(self, kind: str, namespace: str | None, name: str, *, dry_run: bool = False) -> bool:
        """Delete an object (its dependents go in the background); False when it was already gone."""
        resource = resource_for(kind)
        query: dict[str, Any] = {"propagationPolicy": "Background"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            self.request("DELETE", resource.object_path(namespace, name), f"delete {kind} {name}", query=query)
        except errors.NotFound:
            return False
        return True

    def merge_patch(self, kind: str, namespace: str | None, name: str, patch: Object) -> Object:
        resource = resource_for(kind)
        return self.request("PATCH", resource.object_path(namespace, name), f"patch {kind} {name}", body=patch,
                            content_type="application/merge-patch+json")


    def _note_auth(self, status: int) -> None:
        if status != 401:
            self.unauthorized_since = None
        elif self.unauthorized_since is None:
            self.unauthorized_since = time.monotonic()


def resource_of(path: str) -> str:
    """The resource (plural) a request path names: ``/api/v1/namespaces/ns/configmaps/x`` -> ``configmaps``."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    return rest[0] if rest else ""


def _timed_out(exc: BaseException) -> bool:
    """No answer in time once connected (a connect that times out is a server not reached)."""
    return isinstance(exc, TimeoutError) and not isinstance(exc, wire.ConnectError)


def _reason(exc: BaseException) -> str:
    """The socket's own words (``Connection refused``) rather than urllib3's wrapper of them."""
    text = str(getattr(exc, "reason", None) or exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return found.group(1).strip() if found else text
