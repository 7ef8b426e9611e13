"""Pieces of the status page: escaping, state badges, ages, quota bars and the one inline style sheet.

Every value that reaches the page came from git or a cluster (environment names, errors, revisions), so each one
passes through :func:`esc` and nothing is ever written raw.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from reconciler.plan import quota

TARGET_PATH = "/targets/"
LABELS = {"cpu": "CPU", "memory": "Memory", "gpu": "GPU"}
# A state as a person reads it, and the colour family it is drawn in.
STATES = {
    "converged": "ok", "drifted": "warn", "held": "warn", "converging": "busy", "pending": "idle",
    "standby": "idle", "refused": "bad", "conflict": "bad", "failed": "bad", "removed": "idle",
}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def target_href(cluster: str, namespace: str) -> str:
    return esc(f"{TARGET_PATH}{quote(cluster, safe='')}/{quote(namespace, safe='')}")


def badge(state: str) -> str:
    return f'<span class="badge {STATES.get(state, "idle")}">{esc(state)}</span>'


def short(revision: str | None) -> str:
    return esc(revision[:12]) if revision else "none"


def age(stamp: str | None, now: datetime) -> str:
    """``3m ago`` from an RFC 3339 time the controller wrote."""
    if not stamp:
        return "never"
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return esc(stamp)
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f'<time datetime="{esc(stamp)}" title="{esc(stamp)}">{seconds // size}{unit} ago</time>'
    return f'<time datetime="{esc(stamp)}" title="{esc(stamp)}">{seconds}s ago</time>'


def bar(resource: str, figures: Mapping[str, str | None]) -> str:
    """One quota as a bar: used against hard, amber from 80 %, red when over."""
    fraction = quota.share(figures)
    level = "unknown" if fraction is None else "over" if fraction > 1 else "high" if fraction >= 0.8 else "fine"
    width = 0 if fraction is None else min(100, round(fraction * 100))
    used, hard = quota.shown(resource, figures.get("used")), quota.shown(resource, figures.get("hard"))
    percent = "not counted yet" if fraction is None else f"{fraction:.0%}"
    return (f'<div class="quota" data-resource="{esc(resource)}" data-used="{esc(figures.get("used"))}" '
            f'data-hard="{esc(figures.get("hard"))}" title="{esc(LABELS.get(resource, resource))}: {esc(used)} of '
            f'{esc(hard)} ({esc(percent)})"><span class="label">{esc(LABELS.get(resource, resource))}</span>'
            f'<span class="track"><span class="fill {level}" style="width:{width}%"></span></span>'
            f'<span class="figures">{esc(used)} / {esc(hard)}</span></div>')


def bars(usage: Mapping[str, Mapping[str, str | None]]) -> str:
    if not usage:
        return '<div class="muted">no quota</div>'
    return "".join(bar(resource, usage[resource]) for resource in LABELS if resource in usage)


def page(title: str, body: str, refresh: int = 10) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{refresh}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n")


CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2933;
background:#f3f5f8}
header{background:#102a43;color:#f0f4f8;padding:14px 24px;display:flex;flex-wrap:wrap;gap:6px 28px;
align-items:baseline}
header h1{font-size:18px;margin:0 12px 0 0;font-weight:600}
header .fact{color:#bcccdc}header .fact b{color:#f0f4f8;font-weight:600}
main{padding:18px 24px;max-width:1500px}
h2{font-size:15px;margin:22px 0 10px;color:#334e68;text-transform:uppercase;letter-spacing:.04em}
a{color:#1c5fa8;text-decoration:none}a:hover{text-decoration:underline}
table.grid,table.usage{table-layout:fixed}
table.grid thead th:first-child,table.usage thead th:first-child{width:140px}
table.usage .quota .label{display:none}
table.facts th.env{width:240px;white-space:nowrap}
tr.total th,tr.total td{background:#f0f4f8;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0 6px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(16,42,67,.12);padding:10px 16px;min-width:190px;
border-top:4px solid #9fb3c8}
.card.ok{border-top-color:#27ab83}.card.bad{border-top-color:#e12d39}
.card b{display:block;font-size:22px;color:#102a43;font-variant-numeric:tabular-nums}
.card span{color:#627d98;font-size:12.5px}
table{border-collapse:separate;border-spacing:0;width:100%;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(16,42,67,.12)}
th,td{padding:10px 12px;text-align:left;vertical-align:top;border-bottom:1px solid #e4e7eb}
tr:last-child td{border-bottom:0}
thead th{background:#f0f4f8;color:#486581;font-weight:600;font-size:13px}
th.env{width:150px;font-size:15px;color:#102a43}
.cell{border-left:4px solid #cbd2d9;padding-left:10px;margin-bottom:8px}
.cell.ok{border-color:#27ab83}.cell.warn{border-color:#f0b429}.cell.bad{border-color:#e12d39}
.cell.busy{border-color:#2186eb}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;
background:#9aa5b1}
.badge.ok{background:#199473}.badge.warn{background:#cb6e17}.badge.bad{background:#cf1124}.badge.busy{background:#1c5fa8}
.meta{color:#52606d;font-size:12.5px;margin:3px 0}
code{font:12.5px ui-monospace,"DejaVu Sans Mono",monospace;background:#f0f4f8;padding:0 4px;border-radius:3px}
.error{color:#a61b1b;background:#fff5f5;border:1px solid #f9d6d6;border-radius:4px;padding:4px 7px;margin:5px 0;
font-size:12.5px;overflow-wrap:anywhere}
.note{color:#8d2b0b;background:#fffbea;border:1px solid #f7e3a1;border-radius:4px;padding:4px 7px;margin:5px 0;
font-size:12.5px}
.quota{display:flex;align-items:center;gap:8px;font-size:12.5px;margin:2px 0}
.quota .label{width:56px;color:#486581}
.quota .track{flex:1;min-width:90px;height:9px;background:#e4e7eb;border-radius:5px;overflow:hidden}
.quota .fill{display:block;height:100%;background:#3ebd93}
.quota .fill.high{background:#f0b429}.quota .fill.over{background:#e12d39}
.quota .fill.unknown{background:repeating-linear-gradient(45deg,#cbd2d9 0 4px,#e4e7eb 4px 8px);width:100%!important}
.quota .figures{width:110px;text-align:right;font-variant-numeric:tabular-nums;color:#243b53}
.muted{color:#9aa5b1}
.empty{color:#9aa5b1;font-size:13px}
.banner{background:#fff5f5;border:1px solid #f29b9b;border-radius:8px;padding:10px 14px;margin-bottom:12px}
.banner.warn{background:#fffbea;border-color:#f0b429}
footer{color:#7b8794;font-size:12px;padding:6px 24px 24px}
ul.objects{columns:2;margin:0;padding-left:18px}
"""
