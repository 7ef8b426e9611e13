"""One LIST then WATCH of one query (a kind, a label or field selector) on one cluster, kept in a :class:`Store`.

The watch starts at the LIST's resourceVersion with bookmarks, so a quiet cluster moves the version forward without
any event; when the server ends the watch (its timeout) it resumes from the last version seen. An expired version
(410 Gone, after a compaction or an API server restart) relists, as does the periodic relist that repairs anything a
watch could have missed. Connection failures retry with backoff, and reads meanwhile get what was last seen.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

from reconciler.kube import errors
from reconciler.kube.client import PAGE_SIZE, ClusterClient
from reconciler.kube.store import Entry, Key, Store, entry_of, key_of

log = logging.getLogger("reconciler.kube.watch")

WATCH_SECONDS = (300, 600)  # the server ends each watch within this (randomised so kinds do not renew in step)
MAX_BACKOFF = 5.0  # a cluster that comes back is read again within seconds; a retry is one connection


@dataclass(frozen=True)
class Query:
    """What one watch follows: a collection path with its selectors."""

    path: str
    kind: str
    api_version: str
    label_selector: str = ""
    field_selector: str = ""

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params

    def __str__(self) -> str:
        selectors = ", ".join(s for s in (self.label_selector, self.field_selector) if s)
        return f"{self.path}" + (f" ({selectors})" if selectors else "")


class Gone(Exception):
    """The version the watch resumes from is no longer in the server's history: relist."""


class Informer:
    """Follows one :class:`Query` in a thread of its own; ``synced`` is set once the first LIST is held and the
    WATCH is accepted. ``failure`` is why it is not (yet) synced; ``refused`` when the server forbids it."""

    def __init__(self, client: ClusterClient, query: Query, on_change: Callable[[Query, Key], None],
                 relist_seconds: float) -> None:
        self.client = client
        self.query = query
        self.store = Store(lambda key: on_change(query, key))
        self.relist_seconds = relist_seconds
        self.synced = threading.Event()
        self.failure: errors.KubeError | None = None
        self.refused = False
        # Why the watch is cut now (the API server went away): reads fail with it, as a LIST would, until it resumes.
        self.broken: errors.KubeError | None = None
        self.requests = 0  # LISTs and WATCHes sent
        self.lists = 0  # whole LISTs: the first, after an expiry, and the periodic ones
        self._stop = threading.Event()
        self._response: urllib3.BaseHTTPResponse | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch-{client.name}-{query.kind}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.shutdown()  # unblocks the read of a quiet watch at once
        self._thread.join(timeout=10)

    def wait(self, timeout: float) -> None:
        """Until the first LIST is held; raises why it is not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.synced.wait(0.05):
            if self.failure is not None and (self.refused or time.monotonic() >= deadline):
                raise self.failure
            if time.monotonic() >= deadline:
                raise errors.Unreachable(self.client.name, f"watch {self.query}", 0,
                                         f"no answer to its first LIST within {timeout:.0f}s")

    # -- the thread ----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        version, listed_at, failures = "", 0.0, 0
        while not self._stop.is_set():
            try:
                if not version or time.monotonic() - listed_at > self.relist_seconds:
                    version, listed_at = self._list(), time.monotonic()
                version = self._watch(version)
                failures = 0
            except Gone:
                log.info("watch expired; relisting", extra={"cluster": self.client.name, "query": str(self.query)})
                version = ""
            except errors.Forbidden as error:
                if not self.synced.is_set():  # never served: reads go to the server as they would without a cache
                    self.failure, self.refused = error, True
                    return
                failures = self._failed(error, failures)
            except (errors.KubeError, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                failures = self._failed(error, failures)

    def _failed(self, error: Exception, failures: int) -> int:
        if self._stop.is_set():
            return failures
        if isinstance(error, errors.KubeError) and not self.synced.is_set():
            self.failure = error
        elif self.synced.is_set():
            self.broken = error if isinstance(error, errors.KubeError) else self._cut(error)
        delay = min(MAX_BACKOFF, 2.0 ** failures) * random.uniform(0.8, 1.2)
        log.info("watch interrupted; resuming", extra={"cluster": self.client.name, "query": str(self.query),
                                                      "error": str(error), "retryInSeconds": round(delay, 1)})
        self._stop.wait(delay)
        return failures + 1

    def _cut(self, error: Exception) -> errors.KubeError:
        """The words of the socket (``Connection refused``), not urllib3's wrapper of them."""
        found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(getattr(error, "reason", None) or error))
        reason = found.group(1).strip() if found else str(error)
        return errors.Unreachable(self.client.name, f"watch {self.query}", 0, (
            f"cannot reach {self.client.server}: {reason}; the watch resumes by itself once the cluster answers: "
            "check that the cluster is up and that its kubeconfig context names the right server"))

    def _list(self) -> str:
        """Each page is made into compact entries as it comes: a kind's objects are never all held decoded."""
        fresh: dict[Key, Entry] = {}
        params: dict[str, Any] = {**self.query.params(), "limit": PAGE_SIZE}
        while True:
            self.requests += 1
            page = self.client.request("GET", self.query.path, f"list {self.query}", query=params)
            for item in page.pop("items", None) or []:
                item.setdefault("kind", self.query.kind)
                item.setdefault("apiVersion", self.query.api_version)
                fresh[key_of(item)] = entry_of(item)
            token = page.get("metadata", {}).get("continue")
            if not token:
                break
            params["continue"] = token
        self.store.replace_entries(fresh)
        self.lists += 1
        return str(page.get("metadata", {}).get("resourceVersion", ""))

    def _watch(self, version: str) -> str:
        """Follow events from ``version`` until the server ends the watch; returns the last version seen."""
        for event in self._events(version):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise Gone()
                raise errors.from_response(self.client.name, f"watch {self.query}", int(obj.get("code") or 500),
                                           json.dumps(obj))
            version = obj.get("metadata", {}).get("resourceVersion") or version
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                obj.setdefault("kind", self.query.kind)
                obj.setdefault("apiVersion", self.query.api_version)
                self.store.event(kind, obj)
        return version

    def _events(self, version: str) -> Iterator[dict[str, Any]]:
        seconds = random.randint(*WATCH_SECONDS)
        params = {**self.query.params(), "watch": "true", "allowWatchBookmarks": "true",
                  "resourceVersion": version, "timeoutSeconds": seconds}
        api = self.client.api
        _, url, headers, _, _ = api.param_serialize("GET", self.query.path, header_params={
            "Accept": "application/json"}, auth_settings=["BearerToken"])
        self.requests += 1
        reply = api.rest_client.request("GET", f"{url}?{urlencode(params)}", headers=headers,
                                        _request_timeout=(3.0, seconds + 30.0))
        response: urllib3.BaseHTTPResponse = reply.response
        if response.status == 410:
            raise Gone()
        if response.status == 401 and self.client.source.reload(f"HTTP 401 on watch {self.query}"):
            return
        if not 200 <= response.status < 300:
            raise errors.from_response(self.client.name, f"watch {self.query}", response.status, response.data)
        self._response = response
        self.failure = self.broken = None
        self.synced.set()
        try:
            for line in response:
                if self._stop.is_set():
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            self._response = None
            response.release_conn()
