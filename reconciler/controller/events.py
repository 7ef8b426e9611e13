"""What a converge tells each target namespace, as Kubernetes Events: what changed, at which revision, and why.

Pure: a cluster's converge result in, notices out; ``reconciler.kube.events`` writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.converge.results import ClusterResult
from reconciler.plan.changes import PENDING, Change, TargetPlan
from reconciler.plan.inventory import SYSTEM_NAMESPACE, ObjectRef

CONVERGED, DRIFT_CORRECTED, APPLY_FAILED, REFUSED, REMOVED = (
    "Converged", "DriftCorrected", "ApplyFailed", "Refused", "EnvironmentRemoved")
MAX_LISTED = 12


@dataclass(frozen=True)
class Notice:
    namespace: str
    reason: str
    message: str
    warning: bool = False


def errors_of(result: ClusterResult, namespace: str) -> list[str]:
    """The cluster's errors about one target: the failures its converge recorded against it."""
    return [str(entry) for entry in result.failures_of(namespace)]


def unattributed_errors(result: ClusterResult) -> list[str]:
    return [str(entry) for entry in result.cluster_failures]


def _done(result: ClusterResult) -> set[ObjectRef]:
    return {entry.ref for entry in result.done("create", "update", "delete", "orphan") if entry.ref is not None}


def _describe(change: Change) -> str:
    verb = {"create": "created", "update": "updated", "delete": "deleted", "orphan": "orphaned"}[change.action]
    text = f"{verb} {change.ref.kind} {change.ref.name}"
    if change.diffs:
        shown = ", ".join(str(diff) for diff in change.diffs[:3])
        text += f" ({shown}{', ...' if len(change.diffs) > 3 else ''})"
    elif change.action == "delete":
        text += " (no longer in the repository)"
    return text


def _listing(changes: Sequence[Change]) -> str:
    parts = [_describe(change) for change in changes[:MAX_LISTED]]
    if len(changes) > MAX_LISTED:
        parts.append(f"and {len(changes) - MAX_LISTED} more")
    return "; ".join(parts)


def _for_target(target: TargetPlan, result: ClusterResult, done: set[ObjectRef], revision: str,
                drift: bool) -> list[Notice]:
    short = revision[:12]
    if target.foreign_namespace:
        # Not even an Event goes into a namespace that is not this environment's: the refusal is told at home.
        return [Notice(SYSTEM_NAMESPACE, REFUSED, f"revision {short} not applied to {target.key}: "
                       + "; ".join(target.refusals), warning=True)]
    notices = []
    changed = [c for c in target.changes if c.action in PENDING and c.ref in done]
    if target.removed and changed:
        notices.append(Notice(target.namespace, REMOVED,
                              f"environment {target.environment} is no longer in the repository at revision {short}: "
                              + _listing(changed)))
    elif changed and drift:
        notices.append(Notice(target.namespace, DRIFT_CORRECTED,
                              f"undid changes made outside git (revision {short} unchanged): {_listing(changed)}"))
    elif changed:
        notices.append(Notice(target.namespace, CONVERGED, f"revision {short}: {_listing(changed)}"))
    if target.refusals:
        notices.append(Notice(target.namespace, REFUSED, f"revision {short} not applied here: "
                              + "; ".join(target.refusals), warning=True))
    conflicts = target.by_action("conflict")
    if conflicts:
        names = "; ".join(f"{c.ref.kind} {c.ref.name} {c.reason}" for c in conflicts[:MAX_LISTED])
        notices.append(Notice(target.namespace, REFUSED, f"revision {short}: left alone objects that are not this "
                              f"environment's: {names}", warning=True))
    errors = errors_of(result, target.namespace)
    if errors:
        notices.append(Notice(target.namespace, APPLY_FAILED, f"revision {short}: " + "; ".join(errors),
                              warning=True))
    return notices


def notices(result: ClusterResult, revision: str, drift: bool) -> list[Notice]:
    """The Events one cluster's converge deserves; errors that name no target go to the reconciler's namespace."""
    done = _done(result)
    found = [n for target in result.targets for n in _for_target(target, result, done, revision, drift)]
    rest = unattributed_errors(result)
    if rest and result.targets:
        found.append(Notice(SYSTEM_NAMESPACE, APPLY_FAILED, f"revision {revision[:12]}: " + "; ".join(rest),
                            warning=True))
    return found
