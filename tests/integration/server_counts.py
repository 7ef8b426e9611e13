"""Requests as the API server counts them (``apiserver_request_total``), by verb, resource and scope."""

from __future__ import annotations

import re
from collections import Counter

from reconciler.kube.client import ClusterClient

_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
Key = tuple[str, str, str]  # verb (GET, LIST, APPLY...), resource, scope (resource, namespace, cluster)


def request_counts(client: ClusterClient) -> Counter[Key]:
    """Every request the server has answered so far, from all clients, except its own metrics scrapes."""
    _, url, headers, _, _ = client.api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    response = client.api.rest_client.request("GET", url, headers=headers)
    counts: Counter[Key] = Counter()
    for line in response.read().decode().splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = {k: v.strip('"') for k, v in (part.split("=", 1) for part in match["labels"].split(","))}
        if labels.get("resource", "") == "" or labels.get("subresource", "") != "":
            continue  # /metrics, /version, discovery; status updates of controllers
        counts[(labels["verb"], labels["resource"], labels.get("scope", ""))] += int(float(match["value"]))
    return counts


def sent_between(before: Counter[Key], after: Counter[Key]) -> Counter[Key]:
    return Counter({key: after[key] - before[key] for key in after if after[key] > before[key]})
