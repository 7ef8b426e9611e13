"""What a held revision is judged against, and how a person releases one.

The risk rules judge the change from the revision the clusters run. Within one process that is the last revision
the controller accepted; after a restart it is the revision the targets' inventories record, so a restart (a crash,
an upgrade, a drained node) neither forgets a hold nor lets the next commit skip the rules.

Some findings have no later commit that resolves them: a reviewed change of the Platform's allow-list, risk policy
or a takeOver blocks for ever by design. Such a revision is released by a person with access to the installation,
not by git: its commit id in the approvals file (``run --approvals FILE``, mounted from a ConfigMap), re-read at
every check.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.plan import inventory as inv

_COMMIT = re.compile(r"^[0-9a-f]{12,40}$")


def approved(path: Path | None, commit: str) -> bool:
    """Whether the approvals file lists ``commit`` (its full id or a prefix of at least 12 hex digits).

    The file holds one commit id per line; ``#`` starts a comment. A file that cannot be read approves nothing."""
    if path is None:
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ReconcilerError(f"--approvals {path}: cannot read it ({error}); nothing is approved") from error
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if _COMMIT.match(entry) and commit.lower().startswith(entry):
            return True
    return False


def applied_revision(clients: Iterable[ClusterClient], platform: str) -> str | None:
    """The revision most targets' inventories record on the clusters that could be read, or None."""
    counts: Counter[str] = Counter()
    for client in clients:
        try:
            configmaps = client.list("ConfigMap", inv.selector(platform), namespace=inv.SYSTEM_NAMESPACE)
        except KubeError:
            continue
        for configmap in configmaps:
            stored = inv.from_configmap(configmap)
            if stored is not None and _COMMIT.match(stored.revision or ""):
                counts[stored.revision] += 1
    return counts.most_common(1)[0][0] if counts else None
