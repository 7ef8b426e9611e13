"""Live quota usage for ``reconciler diff --kubeconfig``: the ResourceQuotas the reconciler manages (one LIST per
cluster) and, where the Platform enforces quota with Kueue, what its ClusterQueues admitted."""

from __future__ import annotations

from reconciler.kube import kueue_live
from reconciler.kube.connect import ConnectOptions, connect_landscape
from reconciler.plan import revisions as plan_revisions
from reconciler.policy import kueue_usage


def read(revisions: plan_revisions.Revisions, options: ConnectOptions) -> kueue_usage.Usage:
    """Usage on every cluster whose quota the change touches; the first cluster that cannot be reached stops the
    diff (a risk judged without its usage would read as safe)."""
    names = sorted({target.cluster.name for target in plan_revisions.quota_targets(revisions)})
    usage: kueue_usage.Usage = {}
    with connect_landscape(revisions.after.clusters, options, names) as found:
        if found.unusable:
            raise found.unusable[min(found.unusable)]
        for name, client in sorted(found.clients.items()):
            usage.update(plan_revisions.usage_from_quotas(name, client.list("ResourceQuota",
                                                                            plan_revisions.QUOTA_SELECTOR)))
            kueue_live.add_usage(usage, name, revisions.after, client)
    return usage
