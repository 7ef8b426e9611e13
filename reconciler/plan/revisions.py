"""Both sides of a change, read from git (never from the work tree), validated and resolved; and the live quota
usage that matters for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.config import landscape_from
from reconciler.config.files import ParseCache, load_revision
from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, Landscape, Platform, Target
from reconciler.config.resolve_memo import ResolveMemo
from reconciler.errors import ConfigError, InvalidRepository
from reconciler.policy.findings import QuotaUsage
from reconciler.render.namespace import QUOTA_NAME
from reconciler.render.objects import Manifest
from reconciler.source import revision as source

QUOTA_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"


@dataclass(frozen=True)
class Revisions:
    """Both sides of a change, read and resolved."""

    base: source.Revision
    head: source.Revision
    before: Landscape
    after: Landscape
    notes: tuple[str, ...] = ()


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
    cache: ParseCache = {}
    memo = ResolveMemo()  # the base resolves again only the environments the change touches
    try:
        after = landscape_from(load_revision(repo, head_revision, cache), guardrails, memo=memo)
    except InvalidRepository as invalid:
        raise InvalidRevision(head_revision, invalid.errors) from None
    notes: list[str] = []
    try:
        before = landscape_from(load_revision(repo, base_revision, cache), guardrails, memo=memo)
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


def usage_from_quotas(cluster: str, quotas: list[Manifest]) -> QuotaUsage:
    """Live ResourceQuotas of one cluster, as the API returns them -> what each target uses now."""
    usage: QuotaUsage = {}
    for quota in quotas:
        metadata = quota.get("metadata", {})
        if metadata.get("name") == QUOTA_NAME and metadata.get("namespace"):
            used = quota.get("status", {}).get("used", {})
            usage[f"{cluster}/{metadata['namespace']}"] = {k: str(v) for k, v in used.items()}
    return usage
