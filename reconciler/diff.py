"""The core of ``reconciler diff``: what a change to the environments repository does, and how risky it is.

Both revisions are read from git (never from the work tree), validated, resolved and rendered; the rendered
objects of each environment target are compared field by field, with Kubernetes quantities normalised, and the
risk rules of :mod:`reconciler.policy` judge the change. No cluster is needed: live quota usage, when a caller
has read it, comes in as plain data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from reconciler import access, policy, source
from reconciler.config import landscape_from
from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, Landscape, Platform, Target
from reconciler.errors import ConfigError, InvalidRepository
from reconciler.inventory import ObjectRef
from reconciler.plan import FieldDiff
from reconciler.quantity import quantities_equal
from reconciler.render import render_target
from reconciler.render.namespace import QUOTA_NAME
from reconciler.render.objects import APPLY_ORDER, Manifest

ObjectAction = Literal["added", "changed", "removed"]
Status = Literal["added", "changed", "removed", "unchanged"]
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BLOCKED = 3
# Prefixes left out of field paths in one-line summaries: "ResourceQuota requests.cpu 8 -> 4".
_SHORT_PREFIXES = ("spec.hard.", "spec.template.spec.", "spec.", "data.")
_MAX_DETAILS = 3
QUOTA_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"


@dataclass(frozen=True)
class ObjectChange:
    action: ObjectAction
    ref: ObjectRef
    fields: tuple[FieldDiff, ...] = ()

    def describe(self) -> str:
        """One line: ``ResourceQuota requests.nvidia.com/gpu 16 -> 8`` or ``+RoleBinding access-team-x-edit``."""
        if self.action != "changed":
            return f"{'+' if self.action == 'added' else '-'}{self.ref.kind} {self.ref.name}"
        shown = ", ".join(short_field(diff) for diff in self.fields[:2])
        more = f", +{len(self.fields) - 2} more" if len(self.fields) > 2 else ""
        return f"{self.ref.kind} {shown}{more}"


def short_field(diff: FieldDiff) -> str:
    path = diff.path
    for prefix in _SHORT_PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    text = str(diff)
    return f"{path} {text[len(diff.path) + 2:]}"


@dataclass
class TargetDiff:
    cluster: str
    namespace: str
    environment: str
    status: Status
    objects_before: int
    objects_after: int
    changes: list[ObjectChange] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}"

    def count(self, action: ObjectAction) -> int:
        return sum(1 for change in self.changes if change.action == action)


@dataclass
class EnvironmentDiff:
    name: str
    status: Status
    protected: bool
    targets: list[TargetDiff] = field(default_factory=list)
    findings: list[policy.Finding] = field(default_factory=list)

    def count(self, action: ObjectAction) -> int:
        return sum(target.count(action) for target in self.targets)

    @property
    def worst(self) -> int:
        return max((finding.rank for finding in self.findings), default=-1)

    def summary(self) -> str:
        """``prod: 1 changed (ResourceQuota requests.nvidia.com/gpu 16 -> 8)``."""
        counts = [f"{n} {action}" for action in ("added", "changed", "removed") if (n := self.count(action))]
        touched = [t for t in self.targets if t.changes]
        where = f" in {len(touched)} targets" if len(touched) > 1 else ""
        if self.status in ("added", "removed"):
            counts.insert(0, f"environment {self.status}")
        ordered = sorted((c for t in self.targets for c in t.changes), key=lambda c: c.action != "changed")
        details = list(dict.fromkeys(change.describe() for change in ordered))
        shown = "; ".join(details[:_MAX_DETAILS]) + (f"; +{len(details) - _MAX_DETAILS} more"
                                                     if len(details) > _MAX_DETAILS else "")
        text = ", ".join(counts) or "no object changes"
        return f"{self.name}: {text}{where}" + (f" ({shown})" if shown else "")


@dataclass
class DiffResult:
    base: source.Revision
    head: source.Revision
    environments: list[EnvironmentDiff]  # changed ones, and unchanged ones that have findings
    unchanged: int  # environments the change does not touch
    findings: list[policy.Finding]
    notes: list[str] = field(default_factory=list)
    live_usage: bool = False
    access_changes: list[access.AccessChange] = field(default_factory=list)  # who gains or loses which role

    @property
    def blocked(self) -> bool:
        return any(finding.blocks for finding in self.findings)

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.blocked else EXIT_OK

    @property
    def platform_findings(self) -> list[policy.Finding]:
        return [f for f in self.findings if not f.environment]


@dataclass(frozen=True)
class Revisions:
    """Both sides of a change, read and resolved."""

    base: source.Revision
    head: source.Revision
    before: Landscape
    after: Landscape
    notes: tuple[str, ...] = ()


# -- reading ------------------------------------------------------------------------------------------------------

def empty_landscape() -> Landscape:
    return Landscape(platform=Platform(name="default"), clusters={}, teams={}, environments={}, targets=())


class InvalidRevision(InvalidRepository):
    """The head revision does not validate: its errors, with file:line, say what to fix."""

    def __init__(self, revision: source.Revision, errors: list[ConfigError]) -> None:
        super().__init__(errors)
        self.revision = revision


def load_revisions(repo: Path, base: str, head: str = "HEAD", guardrails: Guardrails = DEFAULT_GUARDRAILS) -> Revisions:
    """Read and resolve both revisions against the installation's ``guardrails``. An invalid head raises; an invalid
    base is compared as an empty one."""
    base_revision = source.resolve_revision(repo, base)
    head_revision = source.resolve_revision(repo, head)
    cache: source.ParseCache = {}
    try:
        after = landscape_from(source.read_revision(repo, head_revision, cache), guardrails)
    except InvalidRepository as invalid:
        raise InvalidRevision(head_revision, invalid.errors) from None
    notes: list[str] = []
    try:
        before = landscape_from(source.read_revision(repo, base_revision, cache), guardrails)
    except InvalidRepository as invalid:
        before = empty_landscape()
        notes.append(f"the base revision {base} ({base_revision.short}) is not valid ({len(invalid.errors)} "
                     f"error(s), the first: {invalid.errors[0]}); every object of the head is shown as added")
    except source.MissingFolder:
        before = empty_landscape()
        notes.append(f"the repository does not exist at the base revision {base}; everything is shown as added")
    return Revisions(base_revision, head_revision, before, after, tuple(notes))


def quota_targets(revisions: Revisions) -> list[Target]:
    """Head targets whose quota the change sets or alters: the ones whose live usage matters."""
    return changed_quota_targets(revisions.before, revisions.after)


def changed_quota_targets(base: Landscape, head: Landscape) -> list[Target]:
    chosen = []
    for target in head.targets:
        before = base.environments.get(target.environment.name)
        if before is None or (before.quota, before.kueue) != (target.environment.quota, target.environment.kueue):
            chosen.append(target)
    return chosen


def usage_from_quotas(cluster: str, quotas: list[Manifest]) -> policy.QuotaUsage:
    """Live ResourceQuotas of one cluster, as the API returns them -> what each target uses now."""
    usage: policy.QuotaUsage = {}
    for quota in quotas:
        metadata = quota.get("metadata", {})
        if metadata.get("name") == QUOTA_NAME and metadata.get("namespace"):
            used = quota.get("status", {}).get("used", {})
            usage[f"{cluster}/{metadata['namespace']}"] = {k: str(v) for k, v in used.items()}
    return usage


# -- comparing ----------------------------------------------------------------------------------------------------

_ABSENT: Any = None


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, bool) or isinstance(after, bool):
        return type(before) is type(after) and before == after
    return quantities_equal(before, after)


def _named(items: list[Any]) -> dict[str, Any] | None:
    """A list of mappings with unique names, keyed by name (containers, queues, volumes), else None."""
    if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in items):
        return None
    keyed = {item["name"]: item for item in items}
    return keyed if len(keyed) == len(items) else None


def field_diffs(before: Any, after: Any, path: str = "") -> Iterator[FieldDiff]:
    """Every field that differs between two versions of an object, as precise as the structure allows."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from field_diffs(before.get(key, _ABSENT), after.get(key, _ABSENT), f"{path}.{key}" if path else key)
        return
    if isinstance(before, list) and isinstance(after, list):
        old, new = _named(before), _named(after)
        if old is not None and new is not None and (before or after):
            for name in [*old, *(n for n in new if n not in old)]:
                yield from field_diffs(old.get(name, _ABSENT), new.get(name, _ABSENT), f"{path}[{name}]")
            return
        if len(before) == len(after):
            for index, (was, now) in enumerate(zip(before, after, strict=True)):
                yield from field_diffs(was, now, f"{path}[{index}]")
            return
    if not _same(before, after):
        yield FieldDiff(path, before, after)


def _expanded(obj: Manifest) -> Manifest:
    """A ConfigMap with its JSON documents decoded, so a change inside them is shown field by field."""
    if obj.get("kind") != "ConfigMap" or not isinstance(obj.get("data"), dict):
        return obj
    data: dict[str, Any] = {}
    for key, value in obj["data"].items():
        try:
            # Files named *.json, and the agent's JSON settings (POLYAXON_AGENT_DEFAULT_SCHEDULING, ...).
            opened = key.endswith(".json") or (isinstance(value, str) and value[:1] in ("{", "["))
            data[key] = json.loads(value) if opened else value
        except (TypeError, ValueError):
            data[key] = value
    return {**obj, "data": data}


def _order(ref: ObjectRef) -> tuple[int, str]:
    return (APPLY_ORDER.index(ref.kind) if ref.kind in APPLY_ORDER else len(APPLY_ORDER)), ref.name


def compare_objects(before: list[Manifest], after: list[Manifest]) -> list[ObjectChange]:
    old = {ObjectRef.of(obj): obj for obj in before}
    new = {ObjectRef.of(obj): obj for obj in after}
    changes = []
    for ref in sorted(old.keys() | new.keys(), key=_order):
        if ref not in old:
            changes.append(ObjectChange("added", ref))
        elif ref not in new:
            changes.append(ObjectChange("removed", ref))
        else:
            fields = tuple(field_diffs(_expanded(old[ref]), _expanded(new[ref])))
            if fields:
                changes.append(ObjectChange("changed", ref, fields))
    return changes


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


def assess_change(before: Landscape, after: Landscape, usage: policy.QuotaUsage | None = None,
                  now: datetime | None = None) -> tuple[dict[str, TargetDiff], list[policy.Finding]]:
    """The targets a change touches and the risk rules' findings on it: what ``diff`` shows a pull request and
    what the controller checks again before it converges a commit."""
    targets = _target_diffs(before, after)
    changes = [
        policy.TargetChange(t.environment, t.key, t.objects_before, t.count("added"), t.count("changed"),
                            t.count("removed"), gone=t.status == "removed")
        for t in targets.values()
    ]
    return targets, policy.assess(before, after, changes, usage, now)


def compare(revisions: Revisions, usage: policy.QuotaUsage | None = None, now: datetime | None = None) -> DiffResult:
    """What the change from the base to the head revision does to each environment, and its findings."""
    before, after = revisions.before, revisions.after
    targets, findings = assess_change(before, after, usage, now)
    targets_of: dict[str, list[TargetDiff]] = {}
    for target in targets.values():
        targets_of.setdefault(target.environment, []).append(target)
    findings_of: dict[str, list[policy.Finding]] = {}
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
