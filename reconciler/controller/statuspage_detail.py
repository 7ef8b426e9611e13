"""The status page's view of one environment target: its state, agent, quota, the objects the reconciler manages
there and the last changes it wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reconciler.controller.statuspage_parts import age, badge, bars, esc, page, short


def changes_table(changes: list[dict[str, str]], now: datetime) -> str:
    if not changes:
        return '<p class="empty">No change written since this controller started.</p>'
    rows = "".join(f"<tr><td>{age(c.get('time'), now)}</td><td><code>{short(c.get('revision'))}</code></td>"
                   f"<td>{esc(c.get('action'))}</td><td><code>{esc(c.get('object'))}</code></td></tr>"
                   for c in changes)
    return (f'<table class="changes"><thead><tr><th>when</th><th>revision</th><th>action</th><th>object</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


def target_page(snapshot: dict[str, Any], cluster: str, namespace: str, target: dict[str, Any],
                now: datetime) -> str:
    agent = target.get("agent")
    facts = [
        ("state", badge(target["state"])),
        ("environment", esc(target["environment"])),
        ("revision", f"<code>{short(target.get('revision'))}</code>"),
        ("last converged", age(target.get("lastSyncTime"), now)),
        ("pending changes", esc(target.get("pendingChanges", 0))),
        ("drift undone at the last sync", esc(target.get("driftCorrected", 0))),
        ("agent", f"{esc(agent['ready'])}/{esc(agent['wanted'])} ready · {esc(agent['state'])}: "
                  f"{esc(agent['detail'])}" if agent else "no report yet"),
    ]
    rows = "".join(f'<tr><th class="env">{esc(label)}</th><td>{value}</td></tr>' for label, value in facts)
    error = f'<div class="banner">{esc(target["lastError"])}</div>' if target.get("lastError") else ""
    objects = "".join(f"<li><code>{esc(o)}</code></li>" for o in target.get("objects") or [])
    body = (f'<header><h1><a href="/" style="color:inherit">reconciler</a> · {esc(cluster)}/{esc(namespace)}</h1>'
            f'<span class="fact">cluster <b>{esc(cluster)}</b></span>'
            f'<span class="fact">environment <b>{esc(target["environment"])}</b></span></header>'
            f'<main><p><a href="/">← the landscape</a></p>{error}<table class="facts">{rows}</table>'
            f'<h2>Quota used / hard</h2><table><tr><td>{bars(target.get("quota") or {})}</td></tr></table>'
            f"<h2>Objects the reconciler manages here</h2><table><tr><td>"
            f'{f"<ul class=objects>{objects}</ul>" if objects else "<span class=empty>none reported yet</span>"}'
            f"</td></tr></table><h2>Last changes</h2>{changes_table(target.get('changes') or [], now)}</main>"
            f'<footer>Read-only view of <a href="/status">/status</a></footer>')
    return page(f"reconciler · {cluster}/{namespace}", body)
