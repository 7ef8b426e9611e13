"""Plans and convergence results -> terminal text (optionally colored), Markdown, JSON."""

from __future__ import annotations

import json
from typing import Any

from reconciler.converge.results import ClusterResult, Entry
from reconciler.plan.changes import Action, Change, TargetPlan

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "orphan": "!", "conflict": "x", "keep": "=", "unchanged": " "}
COLORS = {"create": "32", "update": "33", "delete": "31", "orphan": "35", "conflict": "31", "keep": "36"}
PAST = {"create": "created", "update": "updated", "delete": "deleted", "orphan": "orphaned",
        "conflict": "in conflict (left alone)"}
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "orphan", "conflict")


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color and code else text


def _counts(target: TargetPlan) -> str:
    counts = target.counts()
    parts = [f"{counts[a]} to {a}" for a in ACTIONS if counts.get(a)]
    if counts.get("unchanged"):
        parts.append(f"{counts['unchanged']} unchanged")
    return ", ".join(parts) or "nothing"


def _change_lines(change: Change, color: bool) -> list[str]:
    code = COLORS.get(change.action, "")
    lines = [_paint(f"    {SYMBOLS[change.action]} {change.ref}", code, color)]
    if change.reason:  # an update has one only when it is a step of its own: adopted, taken over, replaced
        lines.append(f"        {change.reason}")
    lines.extend(f"        {diff}" for diff in change.diffs)
    return lines


# What a summary leaves out: the writes that went as planned. Conflicts, deletions and orphans are always listed.
ROUTINE = ("create", "update", "unchanged")


def text(results: list[ClusterResult], color: bool = False, verbose: bool = False, heading: str = "Plan",
         listed: bool = True) -> str:
    """The plan (``heading="Plan"``) or what was done (e.g. ``"Applied"``, ``"Dry run"``), per cluster and target;
    without ``listed``, counts per target and only the changes that need a reader's attention."""
    lines: list[str] = []
    for result in results:
        lines.append(_paint(f"cluster {result.cluster}", "1", color))
        for error in result.errors:
            lines.append(_paint(f"  error: {error}", "31", color))
        if result.shared:
            lines.append("  cluster-scoped Kueue objects of the Platform:")
            lines.extend(line for change in result.shared for line in _change_lines(change, color))
        for target in result.targets:
            label = f"{target.namespace} ({target.environment}{', removed' if target.removed else ''})"
            lines.append(f"  {label}: {_counts(target)}")
            for change in target.changes:
                if (change.action != "unchanged" or verbose) and (listed or change.action not in ROUTINE):
                    lines.extend(_change_lines(change, color))
            lines.extend(_paint(f"    warning: {w}", "33", color) for w in target.warnings)
            lines.extend(_paint(f"    refused: {r}", "31", color) for r in target.refusals)
            if target.held:
                lines.append(_paint(f"    held: {target.held}", "35", color))
        lines.extend(f"  agent {h.target}: {h.state} ({h.detail})" for h in result.health)
    totals = {a: sum(len(t.by_action(a)) for r in results for t in r.targets) for a in ACTIONS}
    shown = [(a, n) for a, n in totals.items() if n or a in ("create", "update", "delete")]
    counted = ", ".join(f"{n} to {a}" for a, n in shown) if heading == "Plan" else \
        ", ".join(f"{n} {PAST[a]}" for a, n in shown)
    failed = [r.cluster for r in results if r.failures and not r.targets]
    lines.append(f"{heading}: {_failed_clusters(failed, len(results))}{counted if len(failed) < len(results) else ''}.")
    return "\n".join(lines) + "\n"


def _failed_clusters(failed: list[str], total: int) -> str:
    """A summary never reads as "nothing to do" for clusters that were never read."""
    if not failed:
        return ""
    named = f"{len(failed)} of {total} cluster(s) failed ({', '.join(failed)}), see the errors above"
    if len(failed) == total:
        return f"{named}; nothing is known of their changes"
    return f"{named}; on the others "


def as_dict(results: list[ClusterResult]) -> dict[str, Any]:
    def change(c: Change) -> dict[str, Any]:
        return {"action": c.action, "object": str(c.ref), "reason": c.reason,
                "diff": [{"path": d.path, "before": _plain(d.before), "after": _plain(d.after)} for d in c.diffs]}

    return {
        "clusters": [
            {
                "cluster": r.cluster,
                "entries": [_entry(e) for e in r.entries],
                "errors": r.errors,
                "applied": r.applied,
                "deleted": r.deleted,
                "orphaned": r.orphaned,
                "writes": r.writes,
                "health": [h.__dict__ for h in r.health],
                # The Platform's cluster-scoped Kueue objects, on clusters that have any.
                **({"shared": [change(c) for c in r.shared]} if r.shared else {}),
                "targets": [
                    {"namespace": t.namespace, "environment": t.environment, "removed": t.removed,
                     "counts": t.counts(), "warnings": t.warnings, "refusals": t.refusals, "held": t.held,
                     "changes": [change(c) for c in t.changes if c.action != "unchanged"]}
                    for t in r.targets
                ],
            }
            for r in results
        ]
    }


def _entry(entry: Entry) -> dict[str, Any]:
    """One object's (or step's) action and outcome as executed, with the API server's answer when it failed, so a
    script reads results without parsing messages."""
    error = entry.error
    return {"action": entry.action, "outcome": entry.outcome, "object": str(entry.ref) if entry.ref else None,
            "target": entry.target or None, "message": str(entry) if entry.outcome == "failed" else "",
            "error": {"status": error.status, "reason": error.reason, "message": error.message} if error else None}


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return None
    return value


def as_json(results: list[ClusterResult]) -> str:
    return json.dumps(as_dict(results), indent=2, sort_keys=True) + "\n"


def markdown(results: list[ClusterResult]) -> str:
    lines = ["### Reconciler plan", "", "| cluster | namespace | environment | changes |", "|---|---|---|---|"]
    for result in results:
        for target in result.targets:
            flags = " **refused**" if target.refusals else (" **held**" if target.held else "")
            lines.append(f"| {result.cluster} | {target.namespace} | {target.environment} | {_counts(target)}{flags} |")
        for error in result.errors:
            lines.append(f"| {result.cluster} | | | error: {error} |")
    for result in results:
        for target in result.targets:
            if not target.pending and not target.warnings and not target.refusals and not target.held:
                continue
            lines += ["", f"<details><summary>{result.cluster}/{target.namespace} ({target.environment})</summary>",
                      "", "```diff"]
            for change in target.changes:
                if change.action != "unchanged":
                    # a diff block colours only lines that start with + or -: no indentation before them
                    lines.extend(line.removeprefix("    ") for line in _change_lines(change, False))
            lines += [f"! warning: {w}" for w in target.warnings] + [f"! refused: {r}" for r in target.refusals]
            lines += [f"! held: {target.held}"] if target.held else []
            lines += ["```", "</details>"]
    return "\n".join(lines) + "\n"
