"""The landscape as text, from a /status snapshot: clusters, one line per environment target with its state,
revision, agent and quota, the errors in full, and quota usage per environment and in total."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.plan import quota

Snapshot = dict[str, Any]
SETTLED = ("converged", "applied")  # applied: read from a cluster's inventory, without a controller's verdict


def ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return stamp
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def figures(usage: quota.Usage, resource: str) -> str:
    if resource not in usage:
        return "-"
    found = usage[resource]
    return f"{quota.shown(resource, found['used'])}/{quota.shown(resource, found['hard'])}"


def table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def targets_of(snapshot: Snapshot) -> list[tuple[str, str, dict[str, Any]]]:
    return sorted(((c, ns, t) for c, cluster in snapshot["clusters"].items() for ns, t in cluster["targets"].items()),
                  key=lambda item: (item[2]["environment"], item[0], item[1]))


def render(snapshot: Snapshot, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    lines = [*source_lines(snapshot), "", *cluster_lines(snapshot, now), "", *target_lines(snapshot, now)]
    errors = error_lines(snapshot)
    if errors:
        lines += ["", "errors:", *errors]
    lines += ["", *usage_lines(snapshot)]
    return "\n".join(lines) + "\n"


def source_lines(snapshot: Snapshot) -> list[str]:
    source = snapshot["source"]
    revision, head = (snapshot.get("revision") or "none")[:12], (source.get("head") or "none")[:12]
    lines = [f"source    {source.get('repository')} {source.get('branch') or ''}".rstrip(),
             f"applying  {revision}   branch head {head}"]
    bad = snapshot.get("lastBadRevision")
    if bad and bad["revision"] == source.get("head"):
        lines.append(f"INVALID   the branch head {bad['revision'][:12]} is not applied:")
        lines += [f"          {error}" for error in bad["errors"]]
    return lines


def cluster_lines(snapshot: Snapshot, now: datetime) -> list[str]:
    rows = [["CLUSTER", "STATE", "REVISION", "SYNCED", "FAILURES"]]
    for name, cluster in snapshot["clusters"].items():
        rows.append([name, cluster["state"], (cluster.get("revision") or "none")[:12],
                     ago(cluster.get("lastSyncTime"), now), str(cluster.get("failures", 0))])
    return table(rows)


def target_lines(snapshot: Snapshot, now: datetime) -> list[str]:
    rows = [["ENVIRONMENT", "CLUSTER", "NAMESPACE", "STATE", "REVISION", "SYNCED", "AGENT", "CPU", "MEMORY", "GPU"]]
    for cluster, namespace, target in targets_of(snapshot):
        agent = target.get("agent")
        usage = target.get("quota") or {}
        rows.append([target["environment"], cluster, namespace, target["state"],
                     (target.get("revision") or "none")[:12], ago(target.get("lastSyncTime"), now),
                     f"{agent['ready']}/{agent['wanted']} {agent['state']}" if agent else "-",
                     figures(usage, "cpu"), figures(usage, "memory"), figures(usage, "gpu")])
    return table(rows) if len(rows) > 1 else ["no environment target yet"]


def error_lines(snapshot: Snapshot) -> list[str]:
    errors = [f"  {cluster}/{namespace}: {target['lastError']}" for cluster, namespace, target in targets_of(snapshot)
              if target.get("lastError")]
    for name, cluster in snapshot["clusters"].items():
        if cluster.get("lastError") and not cluster["targets"]:
            errors.append(f"  {name}: {cluster['lastError']}")
    return errors


def usage_lines(snapshot: Snapshot) -> list[str]:
    per_environment: dict[str, list[quota.Usage]] = {}
    for _, _, target in targets_of(snapshot):
        if target["state"] != "removed":
            per_environment.setdefault(target["environment"], []).append(target.get("quota") or {})
    rows = [["QUOTA (used/hard)", "CPU", "MEMORY", "GPU"]]
    totals = []
    for name, usages in sorted(per_environment.items()):
        usage = quota.total(usages)
        totals.append(usage)
        rows.append([name, figures(usage, "cpu"), figures(usage, "memory"), figures(usage, "gpu")])
    overall = quota.total(totals)
    rows.append(["total", figures(overall, "cpu"), figures(overall, "memory"), figures(overall, "gpu")])
    return table(rows)


def settled(snapshot: Snapshot) -> bool:
    """Every cluster reachable and every target converged (or applied, when read from the clusters)."""
    clusters = snapshot["clusters"].values()
    return all(c["state"] not in ("failed", "refused", "held") for c in clusters) and all(
        t["state"] in SETTLED or t["state"] == "removed" for _, _, t in targets_of(snapshot))
