"""One cluster's API, as raw JSON: LIST with a label selector (paginated), GET, server-side apply, DELETE.

Responses are decoded with ``json.loads`` and never turned into the ``kubernetes`` client's models, which is
slow on large lists. Every request has a client-side deadline well under the API server's own 60 s, so a
cluster whose etcd hangs fails within seconds. Every write first passes the client's write guard (fencing, see
:mod:`reconciler.kube.fence`) and is then counted. A 401 re-reads the credentials once and retries.
"""

from __future__ import annotations

import builtins
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s

from reconciler.config.model import FIELD_MANAGER
from reconciler.kube import errors
from reconciler.kube.credentials import ApiSource
from reconciler.kube.fence import WriteGuard
from reconciler.kube.resources import Resource, resource_for

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

    def __init__(self, name: str, api: k8s.ApiClient | ApiSource) -> None:
        self.name = name
        self.source = api if isinstance(api, ApiSource) else ApiSource.fixed(name, api)
        self._lock = threading.Lock()
        self.writes = 0
        self.reads = 0
        self.guard: WriteGuard | None = None
        # Told the resource (plural) of every write it sends, dry runs aside (they change nothing).
        self.on_write: Callable[[str], None] | None = None
        self.unauthorized_since: float | None = None  # monotonic time of the first 401 in a row

    @property
    def api(self) -> k8s.ApiClient:
        return self.source.current()

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    def close(self) -> None:
        self.source.close()

    # -- transport ---------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, subject: str, *, query: dict[str, Any] | None = None,
                body: Object | None = None, content_type: str = "application/json",
                accept: str = "application/json", timeout: float | None = None, fenced: bool = True) -> Object:
        """One request. ``fenced=False`` only for the Lease itself, which is how a replica earns the right to write."""
        if method != "GET":
            if fenced and self.guard is not None:
                self.guard(subject)
            with self._lock:
                self.writes += 1
            if self.on_write is not None and "dryRun" not in (query or {}):
                self.on_write(resource_of(path))
        else:
            with self._lock:
                self.reads += 1
        try:
            return self._send(method, path, subject, query, body, content_type, accept, timeout)
        except errors.Unauthorized:
            if not self.source.reload(f"HTTP 401 on {subject}"):
                raise
            return self._send(method, path, subject, query, body, content_type, accept, timeout)

    def _send(self, method: str, path: str, subject: str, query: dict[str, Any] | None, body: Object | None,
              content_type: str, accept: str, timeout: float | None) -> Object:
        api = self.api
        headers = {"Accept": accept, "Content-Type": content_type}
        _, url, headers, _, _ = api.param_serialize(method, path, header_params=headers,
                                                    auth_settings=["BearerToken"])
        if query:
            url += "?" + urlencode(query)
        # The REST layer serialises JSON content types itself; YAML ones (apply patches) are sent as given.
        payload: Object | str | None = body
        if body is not None and not content_type.endswith("json"):
            payload = json.dumps(body, separators=(",", ":"))
        deadline = TIMEOUT_SECONDS if timeout is None else (min(TIMEOUT_SECONDS[0], timeout), timeout)
        try:
            response = api.rest_client.request(method, url, headers=headers, body=payload,
                                               _request_timeout=deadline)
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if _timed_out(exc):
                raise errors.Unreachable(self.name, subject, 0, f"{self.server} did not answer within "
                                         f"{deadline[1]:.0f}s (an API server that cannot reach its etcd hangs like "
                                         "this); retrying with backoff") from exc
            raise errors.Unreachable(self.name, subject, 0, f"cannot reach {self.server}: {_reason(exc)}; check that "
                                     "the cluster is up and that its kubeconfig context names the right server"
                                     ) from exc
        except k8s.ApiException as exc:
            raise errors.Unreachable(self.name, subject, 0, f"cannot reach {self.server}: {exc.reason}") from exc
        self._note_auth(response.status)
        if not 200 <= response.status < 300:
            raise errors.from_response(self.name, subject, response.status, data or b"")
        decoded: Object = json.loads(data) if data else {}
        return decoded

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
    timeout = urllib3.exceptions.ReadTimeoutError
    return isinstance(exc, timeout) or isinstance(getattr(exc, "reason", None), timeout)


def _reason(exc: BaseException) -> str:
    """The socket's own words (``Connection refused``) rather than urllib3's wrapper of them."""
    text = str(getattr(exc, "reason", None) or exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return found.group(1).strip() if found else text
