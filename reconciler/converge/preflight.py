"""Before the first write: every object a converge will write goes to its API server as a server-side dry run.

Schemas and semantic checks catch what the repository can know; only the API server knows the rest (its own
validation, defaulting, admission). A content refusal (HTTP 400 or 422, or the 500 with which server-side apply
refuses what does not fit the kind's schema: ``kube.errors.refuses_content``) means the revision is bad, so nothing
is written on any cluster; any other dry-run failure (forbidden, a server error, unreachable) stops that cluster
only.

Objects of a namespace that does not exist yet cannot be dry-run where they will live: the server answers 404 for
the namespace, not for the content. They are dry-run in the reconciler's own system namespace instead, with only
``metadata.namespace`` rewritten, after a dry-run create of the Namespace itself. That validates every field and
the admission chain of the system namespace; what only the target namespace's own admission would say (a webhook
or policy that selects namespaces by label) is learnt when the object is written, and is then reported as the
write that failed (see ``converge.execute``).

An object that does not exist yet (the plan creates it) is dry-run as a create where that checks what a server-side
apply of it would: the same validation, defaulting and admission of a new object (operation CREATE, so the same
ValidatingAdmissionPolicies and quota), unknown fields refused (``fieldValidation=Strict``), for about a fifth less
of the server's CPU (``bench/dry_run_cost.py``). Apply checks one thing more: that no keyed list (containers by
name, say) holds two entries of one key. The kinds of ``CREATE_CHECKED`` hold no keyed list in anything the
reconciler renders (every list in them is atomic in the API server's schema, which
``tests/integration/test_dry_run_create.py`` reads), so for them nothing is lost; every other kind, and every
object that exists, is dry-run as it will be written, by apply. A create that finds the object there (a
same-named object in the scratch namespace, or one made since the plan's read) is dry-run by apply instead. One
difference is not about the content: authorization asks a create for the verb ``create``, an apply of a new object
for ``patch`` and ``create``. The reconciler's role holds both for every kind it writes (``deploy/rbac.yaml``); a
write refused for want of ``patch`` stops its target as any write that fails after the dry run does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from reconciler.kube import errors
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.errors import KubeError
from reconciler.kube.resources import resource_for
from reconciler.plan import inventory as inv
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef

SCRATCH_NAMESPACE = inv.SYSTEM_NAMESPACE
# Kinds whose new objects are dry-run as a create: no keyed list in what the reconciler renders of them.
CREATE_CHECKED = frozenset({"Namespace", "ServiceAccount", "RoleBinding", "LimitRange", "ResourceQuota",
                            "NetworkPolicy", "ConfigMap"})


@dataclass(frozen=True)
class DryRunFailure:
    """One object the API server did not accept in a dry run."""

    cluster: str
    environment: str
    ref: ObjectRef
    error: KubeError
    namespace: str = ""  # the target it belongs to; "" for the Platform's cluster-scoped objects

    @property
    def revision_refused(self) -> bool:
        """The server refused the content: the same revision would be refused on every attempt."""
        return errors.refuses_content(self.error)

    def __str__(self) -> str:
        where = f"{self.ref.namespace}/{self.ref.name}" if self.ref.namespace else self.ref.name
        status = f"HTTP {self.error.status}" if self.error.status else "no answer"
        if self.revision_refused:
            consequence = ("the revision is refused and nothing was written on any cluster; fix the value in the "
                           "repository and commit again")
        else:
            consequence = "nothing was written on this cluster; it is retried"
        return (f"environment {self.environment}: {self.ref.kind} {where}: cluster {self.cluster}'s API server "
                f"refused it in a dry run: {self.error.message} ({status}); {consequence}")


def writes_of(plans: Iterable[TargetPlan]) -> list[tuple[TargetPlan, Change]]:
    """The objects a converge of ``plans`` will create or update (held and refused targets write nothing)."""
    return [(plan, change) for plan in plans if not (plan.held or plan.refusals or plan.removed)
            for change in plan.changes if change.action in ("create", "update") and change.desired is not None]


def new_namespaces(plans: Iterable[TargetPlan]) -> set[str]:
    return {c.ref.name for p in plans for c in p.changes if c.ref.kind == "Namespace" and c.action == "create"}


def as_dry_run(obj: Object, missing: set[str], scratch: bool) -> Object | None:
    """``obj`` as it can be dry-run: moved to the scratch namespace when its own does not exist yet (None when
    there is no scratch namespace either: ``apply --dry-run`` on a cluster the reconciler never wrote)."""
    namespace = obj["metadata"].get("namespace")
    if namespace not in missing or not resource_for(obj["kind"]).namespaced:
        return obj
    if not scratch:
        return None
    # Only metadata.namespace differs: the rest is shared with the plan's object, which nothing here changes.
    return {**obj, "metadata": {**obj["metadata"], "namespace": SCRATCH_NAMESPACE}}


def checkable(plans: Sequence[TargetPlan], scratch: bool) -> tuple[int, int]:
    """(objects a dry run sends to the server, objects to write): objects of a new namespace cannot be checked
    without the scratch namespace, so a dry run says how many the server really saw."""
    writes = writes_of(plans)
    missing = new_namespaces(plans)
    sent = sum(1 for _, change in writes if change.desired is not None
               and as_dry_run(change.desired, missing, scratch) is not None)
    return sent, len(writes)


def check(client: ClusterClient, plans: Sequence[TargetPlan], workers: int = 8,
          scratch: bool = True) -> list[DryRunFailure]:
    """Dry-run every write of ``plans`` on one cluster, in parallel; the failures, in apply order."""
    writes = writes_of(plans)
    missing = new_namespaces(plans)

    def one(entry: tuple[TargetPlan, Change]) -> DryRunFailure | None:
        plan, change = entry
        assert change.desired is not None
        # An object replaced (deleted, then created: a field it cannot change) is checked as a new one would be.
        obj = as_dry_run(change.desired, missing | {change.ref.namespace} if change.replace else missing, scratch)
        try:
            if obj is not None:
                dry_run(client, obj, new=change.action == "create" or change.replace)
        except KubeError as error:
            return DryRunFailure(client.name, plan.environment, change.ref, error, plan.namespace)
        return None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [failure for failure in pool.map(one, writes) if failure is not None]


def dry_run(client: ClusterClient, obj: Object, new: bool) -> None:
    """One object's dry run: a create where that checks what its apply would (see above), else the apply."""
    if new and obj["kind"] in CREATE_CHECKED:
        try:
            client.dry_run_create(obj)
            return
        except errors.Conflict as error:
            if error.reason != "AlreadyExists":
                raise
    client.apply(obj, dry_run=True)
