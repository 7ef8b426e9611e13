"""Lines the cluster commands print after their report: what a dry run really checked."""

from __future__ import annotations

from reconciler import converge


def dry_run_checked(results: list[converge.ClusterResult]) -> str:
    """A dry run says how many objects the API servers checked, not only how many it would create."""
    sent = sum(r.dry_run_checked[0] for r in results)
    total = sum(r.dry_run_checked[1] for r in results)
    if sent == total:
        return f"the API servers checked all {total} object(s) to write (server-side dry run)"
    return (f"the API servers checked {sent} of {total} object(s) to write (server-side dry run); the other "
            f"{total - sent} are in namespaces that do not exist yet, and a cluster the reconciler never wrote has no "
            "scratch namespace to check them in: they are checked when their namespace is created")
