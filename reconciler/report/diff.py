"""A diff between two revisions -> terminal text, Markdown for a pull-request comment, JSON.

Risky environments come first: those with a blocking finding, then warnings, then the rest by name.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.diff_model import DiffResult, EnvironmentDiff, ObjectChange, TargetDiff
from reconciler.policy.access import AccessChange
from reconciler.policy.findings import Finding

SYMBOLS = {"added": "+", "changed": "~", "removed": "-"}
ICONS = {"block": "⛔", "warn": "⚠️", "info": "ℹ️"}  # noqa: RUF001 - shown in pull-request comments
# GitHub refuses comments over 65,536 characters; the rest is left to the CI log (text output).
MAX_MARKDOWN = 60_000


def _ordered(result: DiffResult) -> list[EnvironmentDiff]:
    return sorted(result.environments, key=lambda e: (-e.worst, e.name))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _verdict(result: DiffResult) -> str:
    blocking = sum(1 for f in result.findings if f.blocks)
    warnings = sum(1 for f in result.findings if f.severity == "warn")
    tail = f"; {_plural(warnings, 'warning')}" if warnings else ""
    if blocking:
        return f"blocked: {_plural(blocking, 'finding')} {'blocks' if blocking == 1 else 'block'} this change{tail}"
    return f"nothing blocks this change{tail}"


def _object_lines(change: ObjectChange, indent: str) -> list[str]:
    lines = [f"{indent}{SYMBOLS[change.action]} {change.ref.kind} {change.ref.name}"]
    lines.extend(f"{indent}    {diff}" for diff in change.fields)
    return lines


def _target_title(target: TargetDiff) -> str:
    state = "" if target.status == "changed" else f" ({'new target' if target.status == 'added' else 'removed'})"
    return f"{target.key}{state}"


def _unchanged_line(result: DiffResult) -> list[str]:
    if not result.unchanged:
        return []
    return [f"{_plural(result.unchanged, 'environment')} unchanged."]


def _access_groups(changes: list[AccessChange]) -> list[tuple[str, str, str, str, list[str]]]:
    """(environment, targets, via, change, subjects): the members of one team that change alike, on one line."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for change in changes:
        key = (change.environment, ", ".join(change.targets), change.via, change.describe())
        grouped.setdefault(key, []).append(str(change.subject))
    return [(*key, subjects) for key, subjects in grouped.items()]


# -- text ---------------------------------------------------------------------------------------------------------

def _finding_line(finding: Finding) -> str:
    where = finding.environment or "platform"
    if finding.target:
        where += f" {finding.target}"
    return f"  {finding.severity:<5} {finding.rule} [{where}]: {finding.reason}"


def text(result: DiffResult) -> str:
    lines = [f"diff {result.base.name} ({result.base.short}) -> {result.head.name} ({result.head.short})"]
    lines += [f"note: {note}" for note in result.notes]
    lines.append("")
    environments = _ordered(result)
    lines += [environment.summary() for environment in environments] or ["no environment changes."]
    lines += _unchanged_line(result)
    if result.findings:
        lines += ["", "findings:"] + [_finding_line(f) for f in result.findings]
    if result.access_changes:
        lines += ["", "access:"] + [f"  {env} {where}: {', '.join(who)} ({via}): {change}"
                                    for env, where, via, change, who in _access_groups(result.access_changes)]
    for environment in environments:
        if not environment.targets:
            continue
        lines += ["", f"{environment.name}{' (protected)' if environment.protected else ''}"]
        for target in environment.targets:
            lines.append(f"  {_target_title(target)}")
            for change in target.changes:
                lines += _object_lines(change, "    ")
    lines += ["", f"{_verdict(result)} (exit {result.exit_code})"]
    return "\n".join(lines) + "\n"


# -- markdown -----------------------------------------------------------------------------------------------------

def _text(text: str) -> str:
    """Text that Markdown and HTML show as written: no tags, no entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


def _finding_item(finding: Finding) -> str:
    where = f" ({finding.target})" if finding.target else ""
    return f"- {ICONS[finding.severity]} **{finding.severity}** `{finding.rule}`{where}: {_cell(finding.reason)}"


def _risk_cell(environment: EnvironmentDiff) -> str:
    rules = list(dict.fromkeys(f"{ICONS[f.severity]} {f.rule}" for f in environment.findings))
    return ", ".join(rules) if rules else "—"


def _section(environment: EnvironmentDiff) -> list[str]:
    counts = [f"{ICONS[s]} {n} {s}" for s in ("block", "warn", "info")
              if (n := sum(1 for f in environment.findings if f.severity == s))]
    tail = f" — {', '.join(counts)}" if counts else ""
    lines = ["", f"<details><summary>{_text(environment.summary())}{tail}</summary>", ""]
    lines += [_finding_item(f) for f in environment.findings]
    if environment.targets:
        if environment.findings:
            lines.append("")
        lines.append("```diff")
        for target in environment.targets:
            lines.append(_target_title(target))
            for change in target.changes:
                lines += _object_lines(change, "")
        lines.append("```")
    lines += ["", "</details>"]
    return lines


MAX_ACCESS_ROWS = 100


def _access_table(changes: list[AccessChange]) -> list[str]:
    """Who gains or loses which role, where: teams expanded to their members."""
    if not changes:
        return []
    rows = _access_groups(changes)
    lines = ["", "**Access**", "", "| environment | where | who | via | change |", "|---|---|---|---|---|"]
    lines += [f"| {env} | {_cell(where)} | {_cell(', '.join(who))} | {_cell(via)} | {_cell(change)} |"
              for env, where, via, change, who in rows[:MAX_ACCESS_ROWS]]
    if len(rows) > MAX_ACCESS_ROWS:
        lines += ["", f"_{len(rows) - MAX_ACCESS_ROWS} more access changes not shown; run `reconciler diff` "
                  "locally._"]
    return lines


def markdown(result: DiffResult) -> str:
    icon = ICONS["block"] if result.blocked else "✅"
    lines = [
        "### Reconciler diff",
        "",
        f"`{result.base.name}` (`{result.base.short}`) → `{result.head.name}` (`{result.head.short}`)",
        "",
        f"**{icon} {_verdict(result).capitalize()}**",
    ]
    lines += ["", *(f"> **Note:** {_cell(note)}" for note in result.notes)] if result.notes else []
    environments = _ordered(result)
    if environments:
        lines += ["", "| environment | change | added | changed | removed | findings |", "|---|---|---|---|---|---|"]
        for e in environments:
            name = f"**{e.name}** (protected)" if e.protected else f"**{e.name}**"
            lines.append(f"| {name} | {e.status} | {e.count('added')} | {e.count('changed')} | "
                         f"{e.count('removed')} | {_risk_cell(e)} |")
    else:
        lines += ["", "No environment changes."]
    if result.unchanged:
        lines += ["", f"_{_plural(result.unchanged, 'environment')} unchanged._"]
    if result.platform_findings:
        lines += ["", "**Platform**", "", *(_finding_item(f) for f in result.platform_findings)]
    lines += _access_table(result.access_changes)
    size = sum(len(line) + 1 for line in lines)
    for index, environment in enumerate(environments):
        section = _section(environment)
        length = sum(len(line) + 1 for line in section)
        if size + length > MAX_MARKDOWN:
            hidden = _plural(len(environments) - index, "more environment")
            lines += ["", f"_{hidden} not shown here (comment size limit); see the CI log or run `reconciler diff` "
                      "locally._"]
            break
        lines += section
        size += length
    return "\n".join(lines) + "\n"


# -- json ---------------------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value


def _finding(finding: Finding) -> dict[str, str]:
    return {"rule": finding.rule, "severity": finding.severity, "environment": finding.environment,
            "target": finding.target, "reason": finding.reason}


def as_dict(result: DiffResult) -> dict[str, Any]:
    return {
        "base": {"revision": result.base.name, "commit": result.base.commit},
        "head": {"revision": result.head.name, "commit": result.head.commit},
        "blocked": result.blocked,
        "exitCode": result.exit_code,
        "liveUsage": result.live_usage,
        "notes": result.notes,
        "unchangedEnvironments": result.unchanged,
        "findings": [_finding(f) for f in result.findings],
        "access": [
            {"subject": {"kind": c.subject.kind, "name": c.subject.name}, "via": c.via, "environment": c.environment,
             "before": list(c.before), "after": list(c.after), "targets": list(c.targets)}
            for c in result.access_changes
        ],
        "environments": [
            {
                "name": e.name,
                "status": e.status,
                "protected": e.protected,
                "summary": e.summary(),
                "counts": {a: e.count(a) for a in ("added", "changed", "removed")},
                "findings": [_finding(f) for f in e.findings],
                "targets": [
                    {"cluster": t.cluster, "namespace": t.namespace, "status": t.status,
                     "objects": {"before": t.objects_before, "after": t.objects_after},
                     "changes": [
                         {"action": c.action, "kind": c.ref.kind, "namespace": c.ref.namespace, "name": c.ref.name,
                          "fields": [{"path": d.path, "before": _plain(d.before), "after": _plain(d.after)}
                                     for d in c.fields]}
                         for c in t.changes
                     ]}
                    for t in e.targets
                ],
            }
            for e in _ordered(result)
        ],
    }


def as_json(result: DiffResult) -> str:
    return json.dumps(as_dict(result), indent=2, sort_keys=True) + "\n"
