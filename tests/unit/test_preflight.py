"""The dry run's pure parts: which objects it checks, where new namespaces' objects go, what a refusal says."""

from __future__ import annotations

from reconciler import preflight
from reconciler.inventory import ObjectRef
from reconciler.kube.errors import Forbidden, Invalid
from reconciler.plan import Change, TargetPlan

ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "ml-new"}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-new"}}


def _plan(**extra: object) -> TargetPlan:
    changes = [Change("create", ObjectRef("Namespace", "", "ml-new"), NAMESPACE),
               Change("create", ObjectRef("Role", "ml-new", "r"), ROLE),
               Change("unchanged", ObjectRef("Role", "ml-new", "same"), ROLE),
               Change("conflict", ObjectRef("Role", "ml-new", "theirs"), ROLE),
               Change("delete", ObjectRef("Role", "ml-new", "old"))]
    return TargetPlan("gpu", "ml-new", "prod", changes=changes, **extra)  # type: ignore[arg-type]


def test_only_creates_and_updates_of_targets_that_will_be_written_are_checked() -> None:
    assert [c.ref.name for _, c in preflight.writes_of([_plan()])] == ["ml-new", "r"]
    assert preflight.writes_of([_plan(held="a closed window")]) == []
    assert preflight.writes_of([_plan(refusals=["mass deletion"])]) == []


def test_objects_of_a_new_namespace_are_dry_run_in_the_scratch_namespace() -> None:
    missing = preflight.new_namespaces([_plan()])
    assert missing == {"ml-new"}
    moved = preflight.as_dry_run(ROLE, missing, scratch=True)
    assert moved is not None and moved["metadata"]["namespace"] == preflight.SCRATCH_NAMESPACE
    assert ROLE["metadata"]["namespace"] == "ml-new", "the desired object is never changed"
    assert preflight.as_dry_run(NAMESPACE, missing, scratch=True) is NAMESPACE
    assert preflight.as_dry_run(ROLE, set(), scratch=True) is ROLE
    assert preflight.as_dry_run(ROLE, missing, scratch=False) is None


def test_a_content_refusal_stops_every_cluster_and_says_what_the_server_said() -> None:
    refused = preflight.DryRunFailure("gpu", "prod", ObjectRef("LimitRange", "ml-prod", "environment-limits"),
                                      Invalid("gpu", "apply", 422, "default value 8 is greater than max value 4"))
    assert refused.revision_refused
    assert str(refused).startswith("environment prod: LimitRange ml-prod/environment-limits: cluster gpu's API "
                                   "server refused it in a dry run: default value 8 is greater than max value 4 "
                                   "(HTTP 422); the revision is refused and nothing was written on any cluster")
    forbidden = preflight.DryRunFailure("gpu", "prod", ObjectRef("Role", "ml-prod", "r"),
                                        Forbidden("gpu", "apply", 403, "forbidden"))
    assert not forbidden.revision_refused and "nothing was written on this cluster" in str(forbidden)
