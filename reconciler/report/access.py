"""``reconciler access`` -> terminal text, Markdown, JSON: the matrix from git, and the clusters' answers."""

from __future__ import annotations

import json
from typing import Any

from reconciler.policy.access import Subject
from reconciler.report.access_live import CHECKS, AccessReport, Cell, LiveAccess


def _roles(roles: tuple[str, ...] | None) -> str:
    return ", ".join(roles) if roles else "-"


def _mark(cell: Cell) -> str:
    """yes / no as the server answered; with ``!`` when git says otherwise."""
    answer = "yes" if cell.allowed else "no"
    return answer if cell.agrees else answer.upper() + "!"


def _by_target(live: LiveAccess) -> dict[tuple[str, str, str], dict[Subject, dict[str, Cell]]]:
    grouped: dict[tuple[str, str, str], dict[Subject, dict[str, Cell]]] = {}
    for cell in live.cells:
        key = (cell.cluster, cell.namespace, cell.environment)
        grouped.setdefault(key, {}).setdefault(cell.subject, {})[cell.check.label] = cell
    return grouped


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _subject_row(subject: Subject, cells: dict[str, Cell]) -> list[str]:
    first = next(iter(cells.values()))
    via = first.via or "no access here"
    # "?" where the review could not be made (the error is listed below the table)
    return [str(subject), via, *(_mark(cells[check.label]) if check.label in cells else "?" for check in CHECKS)]


def text(report: AccessReport) -> str:
    lines = [f"access from git: {len(report.matrix)} holder(s) in {len(report.environments)} environment(s)", ""]
    lines += _columns([["holder", *report.environments],
                       *([holder, *(_roles(by_env.get(env)) for env in report.environments)]
                         for holder, by_env in report.matrix.items())])
    lines += ["", "members:"]
    lines += [f"  {holder}: {', '.join(map(str, subjects)) or 'nobody'}" for holder, subjects in report.members.items()]
    live = report.live
    if live is not None:
        lines += ["", "effective rights on the clusters (SubjectAccessReview; ! where git says otherwise):"]
        for (cluster, namespace, environment), subjects in _by_target(live).items():
            lines += ["", f"{cluster}/{namespace} ({environment})"]
            rows = [["subject", "via", *(check.label for check in CHECKS)]]
            rows += [_subject_row(subject, cells) for subject, cells in subjects.items()]
            lines += ["  " + line for line in _columns(rows)]
        if problems := live.findings():
            lines += ["", "disagreements:", *(f"  - {problem}" for problem in problems)]
        lines += [f"error: {error}" for error in live.errors]
    lines += ["", f"{report.verdict()} (exit {report.exit_code})"]
    return "\n".join(lines) + "\n"


def _cell(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def _table(rows: list[list[str]]) -> list[str]:
    head, *body = rows
    return [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}",
            *(f"| {' | '.join(_cell(value) for value in row)} |" for row in body)]


def markdown(report: AccessReport) -> str:
    lines = ["### Access", "", f"**{report.verdict()}**", ""]
    lines += _table([["holder", *report.environments],
                     *([f"**{holder}**", *(_roles(by_env.get(env)) for env in report.environments)]
                       for holder, by_env in report.matrix.items())])
    lines += ["", *(f"- **{holder}**: {_cell(', '.join(map(str, subjects)) or 'nobody')}"
                    for holder, subjects in report.members.items())]
    live = report.live
    if live is not None:
        for (cluster, namespace, environment), subjects in _by_target(live).items():
            lines += ["", f"**{cluster}/{namespace}** ({environment})", ""]
            lines += _table([["subject", "via", *(check.label for check in CHECKS)],
                             *(_subject_row(subject, cells) for subject, cells in subjects.items())])
        if problems := [*live.findings(), *live.errors]:
            lines += ["", "**Disagreements**", "", *(f"- {_cell(problem)}" for problem in problems)]
    return "\n".join(lines) + "\n"


def _subject(subject: Subject) -> dict[str, str]:
    return {"kind": subject.kind, "name": subject.name}


def as_dict(report: AccessReport) -> dict[str, Any]:
    result: dict[str, Any] = {
        "environments": list(report.environments),
        "matrix": {holder: {env: list(roles) for env, roles in by_env.items()}
                   for holder, by_env in report.matrix.items()},
        "members": {holder: [_subject(s) for s in subjects] for holder, subjects in report.members.items()},
        "grants": [{"holder": g.holder, "role": g.role, "environment": g.environment, "cluster": g.cluster,
                    "namespace": g.namespace, "subjects": [_subject(s) for s in g.subjects]} for g in report.grants],
        "verdict": report.verdict(),
        "exitCode": report.exit_code,
        "live": None,
    }
    if report.live is not None:
        result["live"] = {
            "agrees": report.live.agrees,
            "checks": [
                {"cluster": c.cluster, "namespace": c.namespace, "environment": c.environment,
                 "subject": _subject(c.subject), "via": c.via, "roles": list(c.roles), "check": c.check.label,
                 "expected": c.expected, "allowed": c.allowed, "agrees": c.agrees, "reason": c.reason}
                for c in report.live.cells
            ],
            "disagreements": report.live.findings(),
            "missingRoles": report.live.missing_roles,
            "errors": report.live.errors,
        }
    return result


def as_json(report: AccessReport) -> str:
    return json.dumps(as_dict(report), indent=2, sort_keys=True) + "\n"
