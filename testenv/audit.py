"""The API server's audit log: who sent which request, as the server saw it.

The request metrics (``apiserver_request_total``) count every client together, and a cluster's own components (the
API server renewing its identity Lease, kwok's node heartbeats, the controller manager) keep sending requests while a
test measures the reconciler. The audit log names the user of each request, so a count can be taken for one
credential. The components are left out of the log at the source: they are never what a test measures, and they
would make the log grow by itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testenv import users

# The users the cluster's own machinery acts as (the API server's loopback client included).
COMPONENTS = ("system:apiserver", *sorted(users.SERVICES))
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
Key = tuple[str, str, str]  # verb (GET, LIST, PATCH...), resource, scope (resource, namespace, cluster)


def policy() -> str:
    """An audit policy: one event per request (when its response is complete), at Metadata level, for every user
    but the components; no event for non-resource URLs (health checks, /metrics, discovery)."""
    return json.dumps({
        "apiVersion": "audit.k8s.io/v1", "kind": "Policy",
        "omitStages": ["RequestReceived", "ResponseStarted"],
        "rules": [
            {"level": "None", "users": list(COMPONENTS)},
            {"level": "None", "nonResourceURLs": ["*"]},
            {"level": "Metadata"},
        ],
    }, indent=2)  # fmt: skip


def flags(directory: Path, log: Path) -> list[str]:
    """The API server's flags for an audit log at ``log``, with its policy written into ``directory``.

    Blocking mode: the event is written before the request's handler returns, so once a client has its answer the
    log holds the request."""
    path = directory / "audit-policy.json"
    path.write_text(policy())
    return [f"--audit-policy-file={path}", f"--audit-log-path={log}", "--audit-log-format=json",
            "--audit-log-mode=blocking", "--audit-log-maxbackup=0"]  # fmt: skip


@dataclass(frozen=True)
class Mark:
    """A place in one cluster's audit log: requests are counted from here on."""

    log: Path
    offset: int


def mark(log: Path) -> Mark:
    return Mark(log, log.stat().st_size if log.exists() else 0)


def events_since(start: Mark, user: str, agent: str = "") -> Iterator[dict[str, Any]]:
    """The audit events of requests ``user`` sent since ``start`` with a User-Agent starting with ``agent``."""
    for event in _events(start):
        if event["user"]["username"] == user and event.get("userAgent", "").startswith(agent):
            yield event


def requests_since(start: Mark, user: str, agent: str = "") -> Counter[Key]:
    """The requests ``user`` sent since ``start`` with a User-Agent starting with ``agent``, by verb, resource and
    scope (subresources, such as a status update, left out)."""
    counts: Counter[Key] = Counter()
    for event in events_since(start, user, agent):
        obj = event.get("objectRef") or {}
        if not obj.get("subresource"):
            counts[(event["verb"].upper(), obj.get("resource", ""), _scope(event["verb"], obj))] += 1
    return counts


def is_write(event: dict[str, Any]) -> bool:
    """A request that can change what etcd stores: not a read, not a dry run (``?dryRun=All``)."""
    return event["verb"] in WRITE_VERBS and "dryRun=" not in event.get("requestURI", "")


def _scope(verb: str, obj: dict[str, str]) -> str:
    """The scope as the request metrics name it: one object, or a collection in a namespace or the cluster."""
    if obj.get("name") and verb not in ("list", "watch", "deletecollection"):
        return "resource"
    return "namespace" if obj.get("namespace") else "cluster"


def _events(start: Mark) -> Iterator[dict[str, Any]]:
    with start.log.open("rb") as log:
        log.seek(start.offset)
        for line in log:
            if line.endswith(b"\n"):  # a line still being written belongs to the next count
                yield json.loads(line)
