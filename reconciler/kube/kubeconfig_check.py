"""Kubeconfig problems in the reconciler's own words, before the client library reads the file: a missing file,
and a context that is not there (with the contexts that are, and the Cluster document that names it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from reconciler.config.model import Cluster
from reconciler.kube.errors import ConnectionConfigError


def _contexts(files: Sequence[Path]) -> list[str] | None:
    """Context names of the readable files, or None when one cannot be parsed (the library then says why)."""
    names: list[str] = []
    for path in files:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return None
        if not document or not isinstance(document, dict) or not isinstance(document.get("contexts") or [], list):
            return None
        names.extend(str(entry.get("name")) for entry in document.get("contexts") or [] if isinstance(entry, dict))
    return names


def check(cluster: Cluster, files: Sequence[Path], context: str, explicit: bool) -> None:
    """Raise ConnectionConfigError when no kubeconfig file exists or none of them has ``context``."""
    shown = ", ".join(str(f) for f in files)
    existing = [f for f in files if f.exists()]
    if not existing:
        how = ("pass --kubeconfig FILE of a file that exists" if explicit
               else "pass --kubeconfig FILE or set KUBECONFIG (the default is ~/.kube/config)")
        raise ConnectionConfigError(f"cluster {cluster.name}: kubeconfig {shown} does not exist; {how}")
    contexts = _contexts(existing)
    if contexts is None or context in contexts:
        return
    have = ", ".join(sorted(contexts)) or "none"
    named = cluster.connection.context_location
    source = f"named by {named}: spec.connection.context" if named else "given with --context"
    raise ConnectionConfigError(
        f"cluster {cluster.name}: context {context!r} ({source}) is not in kubeconfig "
        f"{', '.join(str(f) for f in existing)}; it has: {have}. Fix the Cluster's context, or pass "
        f"--context {cluster.name}=CONTEXT to use another"
    )
