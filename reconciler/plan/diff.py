"""The core of ``reconciler diff``: what a change to the environments repository does, and how risky it is.

Both revisions are read from git (never from the work tree), validated, resolved and rendered; the rendered
objects of each environment target are compared field by field, with Kubernetes quantities normalised, and the
risk rules of :mod:`reconciler.policy.risk` judge the change. No cluster is needed: live quota usage, when a caller
has read it, comes in as plain data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from reconciler.config.model import Landscape, Target
from reconciler.plan.diff_model import DiffResult, EnvironmentDiff, ObjectChange, Status, TargetDiff
from reconciler.plan.inventory import ObjectRef
from reconciler.plan.object_diff import compare_objects
from reconciler.plan.revisions import Revisions
from reconciler.policy import access, risk
from reconciler.policy.findings import Finding, QuotaUsage, TargetChange
from reconciler.render import render_target
from reconciler.render.objects import Manifest


def _unchanged(target: Target, before: Landscape, after: Landscape, previous: Target) -> bool:
    """True when nothing rendering reads differs, so both revisions would render the same objects.

    Rendering reads the target's environment and cluster, the teams its access names and the platform; most
    changes touch a few environments, and this spares rendering and comparing all the others twice.
    """
    if before.platform != after.platform or previous.cluster != target.cluster:
        return False
    if previous.environment != target.environment:
        return False
    teams = {entry.name for entry in target.environment.access if entry.subject == "team"}
    return all(before.teams.get(team) == after.teams.get(team) for team in teams)


def _target_diffs(before: Landscape, after: Landscape) -> dict[str, TargetDiff]:
    """The targets the change touches (unchanged ones are left out), keyed by ``cluster/namespace``."""
    old = {target.key: target for target in before.targets}
    new = {target.key: target for target in after.targets}
    result = {}
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was is not None and now is not None and was.environment.name == now.environment.name \
                and _unchanged(now, before, after, was):
            continue
        objects_before = render_target(was, before) if was is not None else []
        objects_after = render_target(now, after) if now is not None else []
        if was is not None and now is not None and was.environment.name != now.environment.name:
            # The namespace moved to another environment: one target removed, one added.
            result[key] = _whole(was, objects_before, "removed")
            result[f"{key} ({now.environment.name})"] = _whole(now, objects_after, "added")
            continue
        if was is None or now is None:
            present = was if was is not None else now
            assert present is not None
            result[key] = _whole(present, objects_before or objects_after, "removed" if now is None else "added")
            continue
        changes = compare_objects(objects_before, objects_after)
        result[key] = TargetDiff(now.cluster.name, now.namespace, now.environment.name,
                                 "changed" if changes else "unchanged", len(objects_before), len(objects_after),
                                 changes)
    return result


def _whole(target: Target, objects: list[Manifest], status: Literal["added", "removed"]) -> TargetDiff:
    changes = [ObjectChange(status, ObjectRef.of(obj)) for obj in objects]
    if status == "removed":
        changes.reverse()  # deletion runs in reverse apply order
        return TargetDiff(target.cluster.name, target.namespace, target.environment.name, status, len(objects), 0,
                          changes)
    return TargetDiff(target.cluster.name, target.namespace, target.environment.name, status, 0, len(objects), changes)


def assess_change(before: Landscape, after: Landscape, usage: QuotaUsage | None = None,
                  now: datetime | None = None) -> tuple[dict[str, TargetDiff], list[Finding]]:
    """The targets a change touches and the risk rules' findings on it: what ``diff`` shows a pull request and
    what the controller checks again before it converges a commit."""
    targets = _target_diffs(before, after)
    changes = [
        TargetChange(t.environment, t.key, t.objects_before, t.count("added"), t.count("changed"),
                            t.count("removed"), gone=t.status == "removed")
        for t in targets.values()
    ]
    return targets, risk.assess(before, after, changes, usage, now)


def compare(revisions: Revisions, usage: QuotaUsage | None = None, now: datetime | None = None) -> DiffResult:
    """What the change from the base to the head revision does to each environment, and its findings."""
    before, after = revisions.before, revisions.after
    targets, findings = assess_change(before, after, usage, now)
    targets_of: dict[str, list[TargetDiff]] = {}
    for target in targets.values():
        targets_of.setdefault(target.environment, []).append(target)
    findings_of: dict[str, list[Finding]] = {}
    for finding in findings:
        findings_of.setdefault(finding.environment, []).append(finding)
    environments = []
    unchanged = 0
    for name in sorted(before.environments.keys() | after.environments.keys()):
        old, new = before.environments.get(name), after.environments.get(name)
        touched = [t for t in targets_of.get(name, []) if t.changes or t.status != "unchanged"]
        status: Status = ("added" if old is None else "removed" if new is None
                          else "changed" if touched else "unchanged")
        if status == "unchanged" and name not in findings_of:
            unchanged += 1
            continue
        protected = bool((old and old.protected) or (new and new.protected))
        environments.append(EnvironmentDiff(name, status, protected, touched, findings_of.get(name, [])))
    return DiffResult(revisions.base, revisions.head, environments, unchanged, findings, list(revisions.notes),
                      live_usage=usage is not None, access_changes=access.changes(before, after))
