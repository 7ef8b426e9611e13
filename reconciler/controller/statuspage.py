"""The status page at ``/``: the landscape as a grid of environments x clusters, and quota usage per environment.

Server-rendered from the same snapshot ``/status`` returns, so the page can show nothing /status does not. Plain
HTML with one inline style sheet: no script, no external asset (it works on an air-gapped cluster), and a meta
refresh keeps it current.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from reconciler.controller import statuspage_detail
from reconciler.controller.statuspage_parts import (
    LABELS,
    TARGET_PATH,
    age,
    badge,
    bar,
    bars,
    esc,
    page,
    short,
    target_href,
)
from reconciler.plan import quota

Snapshot = dict[str, Any]


def serves(path: str) -> bool:
    return path == "/" or path.startswith(TARGET_PATH)


def route(path: str, snapshot: Snapshot, now: datetime | None = None) -> tuple[int, str]:
    """The HTTP status and the page for ``path`` (``/`` or ``/targets/CLUSTER/NAMESPACE``)."""
    now = now or datetime.now(UTC)
    if path == "/":
        return 200, landscape_page(snapshot, now)
    cluster, _, namespace = path[len(TARGET_PATH):].partition("/")
    found = snapshot["clusters"].get(unquote(cluster), {}).get("targets", {}).get(unquote(namespace))
    if found is None:
        body = (f'<main><h2>Not found</h2><p>No environment target {esc(unquote(cluster))}/'
                f'{esc(unquote(namespace))} in this controller\'s status. <a href="/">Back to the landscape</a>.'
                "</p></main>")
        return 404, page("not found", body)
    return 200, statuspage_detail.target_page(snapshot, unquote(cluster), unquote(namespace), found, now)


def cell_state(target: dict[str, Any]) -> str:
    """The word on a cell: the target's state, or ``drifted`` when the last sync had to undo drift."""
    if target["state"] == "converged" and target.get("driftCorrected"):
        return "drifted"
    return str(target["state"])


def header(snapshot: Snapshot, now: datetime) -> str:
    source, leader = snapshot["source"], snapshot["leader"]
    role = "leader" if leader["isLeader"] else f"standby (leader: {leader.get('holder') or 'none'})"
    facts = [("repository", esc(f"{source['repository']} {source['branch']}")),
             ("applying", short(snapshot["revision"])), ("branch head", short(source.get("head"))),
             ("this replica", esc(role))]
    items = "".join(f'<span class="fact">{label} <b>{value}</b></span>' for label, value in facts)
    checked = f'<span class="fact">checked <b>{age(source.get("lastCheckTime"), now)}</b></span>'
    return f'<header><h1><a href="/" style="color:inherit">reconciler</a> · landscape</h1>{items}{checked}</header>'


def banners(snapshot: Snapshot) -> str:
    shown = []
    bad, source = snapshot.get("lastBadRevision"), snapshot["source"]
    if bad and bad["revision"] == source.get("head"):
        errors = "".join(f'<div class="error">{esc(e)}</div>' for e in bad["errors"])
        shown.append(f'<div class="banner"><b>The branch head {short(bad["revision"])} is invalid</b>: nothing from '
                     f'it is applied; {short(snapshot["revision"])} stays applied.{errors}</div>')
    if source.get("lastFetchError"):
        shown.append(f'<div class="banner warn"><b>Cannot read the branch</b>: '
                     f'<span class="error">{esc(source["lastFetchError"])}</span></div>')
    return "".join(shown)


def target_cell(cluster: str, namespace: str, target: dict[str, Any], now: datetime) -> str:
    state = cell_state(target)
    family = {"converged": "ok", "drifted": "warn", "held": "warn", "failed": "bad", "refused": "bad",
              "conflict": "bad"}.get(state, "idle")
    agent = target.get("agent")
    health = (f'agent {esc(agent["ready"])}/{esc(agent["wanted"])} ready · {esc(agent["state"])}' if agent
              else "agent: no report yet")
    error = f'<div class="error">{esc(target["lastError"])}</div>' if target.get("lastError") else ""
    return (f'<div class="cell {family}" data-cluster="{esc(cluster)}" data-namespace="{esc(namespace)}" '
            f'data-state="{esc(state)}">{badge(state)} <a href="{target_href(cluster, namespace)}">'
            f'<code>{esc(namespace)}</code></a><div class="meta">revision <code>{short(target.get("revision"))}'
            f'</code> · {"synced" if state in ("converged", "drifted") else "last converged"} '
            f'{age(target.get("lastSyncTime"), now)}</div><div class="meta">{health}</div>'
            f"{error}{bars(target.get('quota') or {})}</div>")


def cluster_heading(name: str, cluster: dict[str, Any], now: datetime) -> str:
    retry = cluster.get("nextRetryInSeconds")
    detail = (f'{esc(cluster["failures"])} failed attempts, retry in {retry:.0f}s' if cluster.get("failures")
              and retry is not None else f'synced {age(cluster.get("lastSyncTime"), now)}')
    return (f'<th data-cluster="{esc(name)}">{esc(name)} {badge(cluster["state"])}'
            f'<div class="meta">{detail}</div></th>')


def grid(snapshot: Snapshot, now: datetime) -> str:
    clusters: dict[str, dict[str, Any]] = snapshot["clusters"]
    by_environment: dict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    for name, cluster in clusters.items():
        for namespace, target in sorted(cluster["targets"].items()):
            by_environment.setdefault(target["environment"], {}).setdefault(name, []).append((namespace, target))
    if not by_environment:
        return '<p class="empty">No environment target converged yet.</p>'
    head = "".join(cluster_heading(name, cluster, now) for name, cluster in clusters.items())
    rows = []
    for environment, placed in sorted(by_environment.items()):
        cells = "".join(
            "<td>" + ("".join(target_cell(name, ns, t, now) for ns, t in placed[name]) if name in placed
                      else '<span class="empty">not on this cluster</span>') + "</td>" for name in clusters)
        rows.append(f'<tr data-environment="{esc(environment)}"><th class="env">{esc(environment)}</th>{cells}</tr>')
    return (f'<table class="grid"><thead><tr><th>environment</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def usage_rows(snapshot: Snapshot) -> list[tuple[str, quota.Usage]]:
    """Quota usage per environment (over all its targets), then the total over every environment."""
    per_environment: dict[str, list[quota.Usage]] = {}
    for cluster in snapshot["clusters"].values():
        for target in cluster["targets"].values():
            if target["state"] != "removed":
                per_environment.setdefault(target["environment"], []).append(target.get("quota") or {})
    rows = [(name, quota.total(usages)) for name, usages in sorted(per_environment.items())]
    return [*rows, ("total", quota.total(usage for _, usage in rows))]


def usage_table(rows: list[tuple[str, quota.Usage]]) -> str:
    head = "".join(f"<th>{esc(label)} used / hard</th>" for label in LABELS.values())
    body = "".join(
        f'<tr data-usage="{esc(name)}" class="{"total" if name == "total" else ""}"><th class="env">{esc(name)}</th>'
        + "".join(f"<td>{bar(r, usage[r]) if r in usage else '<span class=empty>no quota</span>'}</td>"
                  for r in LABELS) + "</tr>" for name, usage in rows)
    return f'<table class="usage"><thead><tr><th>environment</th>{head}</tr></thead><tbody>{body}</tbody></table>'


def summary(snapshot: Snapshot, total: quota.Usage) -> str:
    targets = [t for c in snapshot["clusters"].values() for t in c["targets"].values() if t["state"] != "removed"]
    converged = sum(1 for t in targets if t["state"] == "converged")
    failing = len(targets) - converged
    cards = [(f"{converged}/{len(targets)}", "targets converged", "ok" if not failing else "bad")]
    for resource, label in LABELS.items():
        if resource in total:
            figures = total[resource]
            used, hard = quota.shown(resource, figures["used"]), quota.shown(resource, figures["hard"])
            cards.append((f"{used} / {hard}", f"{label} requested in total", "idle"))
    return '<div class="cards">' + "".join(
        f'<div class="card {family}" data-card="{esc(text)}"><b>{esc(value)}</b><span>{esc(text)}</span></div>'
        for value, text, family in cards) + "</div>"


def landscape_page(snapshot: Snapshot, now: datetime) -> str:
    rows = usage_rows(snapshot)
    body = (f"{header(snapshot, now)}<main>{banners(snapshot)}{summary(snapshot, rows[-1][1])}"
            f"<h2>Environments &times; clusters</h2>{grid(snapshot, now)}"
            f"<h2>Quota usage per environment (requests, as the API server counts them)</h2>{usage_table(rows)}"
            "</main>"
            f'<footer>Read-only view of <a href="/status">/status</a> · <a href="/metrics">/metrics</a> · '
            f"rendered {esc(now.strftime('%Y-%m-%d %H:%M:%S UTC'))}, refreshes every 10 s</footer>")
    return page("reconciler · landscape", body)
