"""One cluster's API, as raw JSON: LIST with a label selector (paginated), GET, server-side apply, DELETE.

Responses are decoded with ``json.loads`` and never turned into the ``kubernetes`` client's models, which is
slow on large lists. Writes are counted so a caller can report how many it sent.
"""

from __future__ import annotations

import builtins
import json
import re
import threading
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s

from reconciler.config.model import FIELD_MANAGER
from reconciler.kube import errors
from reconciler.kube.resources import Resource, resource_for

PAGE_SIZE = 500
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
TIMEOUT_SECONDS = (5.0, 60.0)  # connect, read

Object = dict[str, Any]


def describe(obj: Object) -> str:
    metadata = obj.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{obj.get('kind')} {namespace + '/' if namespace else ''}{metadata.get('name')}"


class ClusterClient:
    """Talks to one cluster. Thread-safe: converge uses one client from several threads."""

    def __init__(self, name: str, api: k8s.ApiClient) -> None:
        self.name = name
        self.api = api
        self._lock = threading.Lock()
        self.writes = 0
        self.reads = 0

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    def close(self) -> None:
        self.api.close()

    # -- transport ---------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, subject: str, *, query: dict[str, Any] | None = None,
                body: Object | None = None, content_type: str = "application/json",
                accept: str = "application/json") -> Object:
        headers = {"Accept": accept, "Content-Type": content_type}
        _, url, headers, _, _ = self.api.param_serialize(method, path, header_params=headers,
                                                         auth_settings=["BearerToken"])
        if query:
            url += "?" + urlencode(query)
        # The REST layer serialises JSON content types itself; YAML ones (apply patches) are sent as given.
        payload: Object | str | None = body
        if body is not None and not content_type.endswith("json"):
            payload = json.dumps(body, separators=(",", ":"))
        with self._lock:
            if method == "GET":
                self.reads += 1
            else:
                self.writes += 1
        try:
            response = self.api.rest_client.request(method, url, headers=headers, body=payload,
                                                    _request_timeout=TIMEOUT_SECONDS)
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise errors.Unreachable(self.name, subject, 0, f"cannot reach {self.server}: {_reason(exc)}; check that "
                                     "the cluster is up and that its kubeconfig context names the right server"
                                     ) from exc
        except k8s.ApiException as exc:
            raise errors.Unreachable(self.name, subject, 0, f"cannot reach {self.server}: {exc.reason}") from exc
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


def _reason(exc: BaseException) -> str:
    """The socket's own words (``Connection refused``) rather than urllib3's wrapper of them."""
    text = str(getattr(exc, "reason", None) or exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return found.group(1).strip() if found else text
