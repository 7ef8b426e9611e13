"""The dry run's pure parts: which objects it checks, where new namespaces' objects go, what a refusal says."""

from __future__ import annotations

from reconciler.converge import preflight
from reconciler.kube.errors import Forbidden, Invalid, KubeError, ServerError
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef

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


def test_an_object_that_does_not_fit_its_kinds_schema_refuses_the_revision() -> None:
    """Server-side apply says so with HTTP 500 (a create with 400): the content is at fault, not the server."""
    unknown = ServerError("gpu", "apply", 500, "failed to create typed patch object (ml-prod/ml-agent; apps/v1, "
                          "Kind=Deployment): .spec.replicaz: field not declared in schema", "InternalError")
    quantity = ServerError("gpu", "apply", 500, "failed to convert new object (ml-prod/ml-agent; apps/v1, "
                           "Kind=Deployment) to proper version: quantities must match the regular expression")
    for error in (unknown, quantity, KubeError("gpu", "create", 400, 'strict decoding error: unknown field "x"')):
        assert preflight.DryRunFailure("gpu", "prod", ObjectRef("Deployment", "ml-prod", "ml-agent"),
                                       error).revision_refused
    etcd = ServerError("gpu", "apply", 500, "etcdserver: request timed out", "InternalError")
    assert not preflight.DryRunFailure("gpu", "prod", ObjectRef("Deployment", "ml-prod", "ml-agent"),
                                       etcd).revision_refused
