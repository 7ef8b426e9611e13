"""A new object's dry run as a create checks what its dry run as a server-side apply checks.

The preflight (``reconciler/converge/preflight.py``) dry-runs a new object of the kinds in ``CREATE_CHECKED`` as a
create, which costs the API server less. Here the same objects go both ways to a real API server: bad ones are
refused alike (invalid values, a ValidatingAdmissionPolicy, quota: the same status and words; a field the schema
does not know: refused both ways, in the server's two wordings), good ones come out as the same object, and no list
in what the reconciler renders of those kinds is keyed in the server's own schema (the one check apply makes that a
create does not). Existing objects are still dry-run by apply, so an immutable field's change is refused as before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from reconciler.config import load_landscape
from reconciler.converge import engine as converge
from reconciler.converge import preflight
from reconciler.kube import errors
from reconciler.kube.api_sources import USER_AGENT
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.resources import resource_for
from reconciler.plan import inventory as inv
from reconciler.render import render_target
from testenv import audit, controlplane, polling, users

from .conftest import ClientFactory
from .support import clients, private_repo

pytestmark = pytest.mark.integration

RBAC = "rbac.authorization.k8s.io/v1"
VIEW = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}


def _shared(tmp_path: Path, kubeconfig: Path, prefix: str) -> ClusterClient:
    """The reconciler's client of cluster "shared", whose scratch namespace exists (as the preflight makes it)."""
    client = clients(private_repo(tmp_path, prefix), kubeconfig)["shared"]
    client.apply(inv.system_namespace())
    return client


def _both(client: ClusterClient, obj: Object) -> tuple[errors.KubeError | None, errors.KubeError | None]:
    """What a dry-run create and a dry-run apply of ``obj`` answer: None for accepted, else the error."""
    answers: list[errors.KubeError | None] = []
    for send in (client.dry_run_create, lambda o: client.apply(o, dry_run=True)):
        try:
            send(obj)
            answers.append(None)
        except errors.KubeError as error:
            answers.append(error)
    return answers[0], answers[1]


def _in(namespace: str, kind: str, name: str, **fields: Any) -> Object:
    api = RBAC if kind == "RoleBinding" else "networking.k8s.io/v1" if kind == "NetworkPolicy" else "v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}, **fields}


INVALID: dict[str, tuple[Callable[[str], Object], str]] = {
    # case: (the object in a namespace, what the API server says of it)
    "a default above the maximum": (
        lambda ns: _in(ns, "LimitRange", "environment-limits", spec={"limits": [
            {"type": "Container", "max": {"cpu": "4"}, "default": {"cpu": "8"}}]}),
        "default value 8 is greater than max value 4"),
    "a subject without a name": (
        lambda ns: _in(ns, "RoleBinding", "access", roleRef=VIEW,
                       subjects=[{"kind": "User", "name": "", "apiGroup": "rbac.authorization.k8s.io"}]),
        "subjects[0].name: Required value"),
    "a name the server refuses": (
        lambda ns: _in(ns, "ConfigMap", "Agent_Config", data={"a": "b"}), "a lowercase RFC 1123 subdomain"),
    "a quantity above its limit": (
        lambda ns: _in(ns, "LimitRange", "limits", spec={"limits": [
            {"type": "Container", "min": {"memory": "2Gi"}, "max": {"memory": "1Gi"}}]}),
        "min value 2Gi is greater than max value 1Gi"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
@pytest.mark.parametrize("where", ["scratch", "own"])
def test_an_invalid_new_object_is_refused_alike_both_ways(kubeconfig: Path, tmp_path: Path,
                                                          namespace: Callable[[str], str], case: str,
                                                          where: str) -> None:
    client = _shared(tmp_path, kubeconfig, "dc")
    make, said = INVALID[case]
    obj = make(inv.SYSTEM_NAMESPACE if where == "scratch" else namespace("shared"))
    created, applied = _both(client, obj)
    assert created is not None and applied is not None
    assert (created.status, created.message) == (applied.status, applied.message)
    assert said in created.message and errors.refuses_content(created)


def test_a_field_the_schema_does_not_know_is_refused_both_ways_as_content(kubeconfig: Path, tmp_path: Path) -> None:
    """The server words it in two ways (and apply answers 500): both are the revision's fault."""
    client = _shared(tmp_path, kubeconfig, "du")
    obj = _in(inv.SYSTEM_NAMESPACE, "NetworkPolicy", "isolated", spec={"podSelector": {}, "isolation": "strict"})
    created, applied = _both(client, obj)
    assert created is not None and applied is not None
    assert 'unknown field "spec.isolation"' in created.message and created.status == 400
    assert ".spec.isolation: field not declared in schema" in applied.message and applied.status == 500
    assert errors.refuses_content(created) and errors.refuses_content(applied)


@pytest.fixture
def denying_policy(api_client: ClientFactory) -> Iterator[str]:
    """A ValidatingAdmissionPolicy that refuses new ConfigMaps labelled ``tier: forbidden``, everywhere."""
    admission = k8s.AdmissionregistrationV1Api(api_client("shared"))
    name = f"deny-{uuid.uuid4().hex[:6]}"
    admission.create_validating_admission_policy({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name}, "spec": {
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                    "operations": ["CREATE"], "resources": ["configmaps"]}]},
            "validations": [{"expression": "!has(object.metadata.labels) || !('tier' in object.metadata.labels) || "
                                           "object.metadata.labels['tier'] != 'forbidden'",
                             "messageExpression": "'no forbidden tier for ' + object.metadata.name"}]}})
    admission.create_validating_admission_policy_binding({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Deny"]}})
    try:
        yield name
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)


@pytest.mark.parametrize("where", ["scratch", "own"])
def test_a_validating_admission_policy_refuses_a_new_object_alike_both_ways(
        kubeconfig: Path, tmp_path: Path, namespace: Callable[[str], str], denying_policy: str, where: str) -> None:
    client = _shared(tmp_path, kubeconfig, "dp")
    obj = _in(inv.SYSTEM_NAMESPACE if where == "scratch" else namespace("shared"), "ConfigMap", "agent-config")
    obj["metadata"]["labels"] = {"tier": "forbidden"}
    # Admission reads policies from a cache: wait until this one (not one of an earlier test) refuses.
    polling.until(lambda: denying_policy in str(_both(client, obj)[1]), timeout=30, what="the policy to be enforced")
    created, applied = _both(client, obj)
    assert created is not None and applied is not None
    assert (created.status, created.message) == (applied.status, applied.message)
    assert created.message == (f'configmaps "agent-config" is forbidden: ValidatingAdmissionPolicy '
                               f"'{denying_policy}' with binding '{denying_policy}' denied request: no forbidden "
                               "tier for agent-config")


def test_quota_refuses_a_new_object_alike_both_ways(kubeconfig: Path, tmp_path: Path,
                                                    namespace: Callable[[str], str]) -> None:
    client = _shared(tmp_path, kubeconfig, "dq")
    where = namespace("shared")
    client.apply(_in(where, "ResourceQuota", "no-bindings",
                     spec={"hard": {"count/rolebindings.rbac.authorization.k8s.io": "0"}}))
    binding = _in(where, "RoleBinding", "access", roleRef=VIEW,
                  subjects=[{"kind": "Group", "name": "oidc:ml", "apiGroup": "rbac.authorization.k8s.io"}])
    # Quota admission reads quotas from a cache: wait until it refuses before comparing.
    polling.until(lambda: _both(client, binding)[1] is not None, timeout=30, what="quota admission to refuse")
    created, applied = _both(client, binding)
    assert created is not None and applied is not None
    assert (created.status, created.message) == (applied.status, applied.message)
    assert "exceeded quota: no-bindings" in created.message


def _rendered(tmp_path: Path, prefix: str) -> list[Object]:
    landscape = load_landscape(private_repo(tmp_path / "rendered", prefix))
    return [obj for target in landscape.targets for obj in render_target(target, landscape)]


def _comparable(obj: Object) -> Object:
    """An answer without what only says which request made it or when."""
    metadata = {k: v for k, v in obj["metadata"].items()
                if k not in ("managedFields", "uid", "creationTimestamp", "resourceVersion")}
    return {**obj, "metadata": metadata}


def test_a_valid_new_object_comes_out_as_the_same_object_both_ways(kubeconfig: Path, tmp_path: Path) -> None:
    """Defaulting and mutating admission alike: what would be stored is the same, whichever request checked it."""
    client = _shared(tmp_path, kubeconfig, "dv")
    checked = [obj for obj in _rendered(tmp_path, "dv") if obj["kind"] in preflight.CREATE_CHECKED]
    assert {obj["kind"] for obj in checked} == preflight.CREATE_CHECKED
    for obj in checked:
        moved = preflight.as_dry_run(obj, {obj["metadata"].get("namespace", "")}, scratch=True)
        assert moved is not None
        assert _comparable(client.dry_run_create(moved)) == _comparable(client.apply(moved, dry_run=True))


def _schemas(client: ClusterClient, api_version: str) -> dict[str, Any]:
    """The API server's OpenAPI v3 schemas of one group-version, by name."""
    index = client.request("GET", "/openapi/v3", "openapi index")
    key = "api/v1" if api_version == "v1" else f"apis/{api_version}"
    url = index["paths"][key]["serverRelativeURL"]
    path, _, query = url.partition("?")
    document = client.request("GET", path, "openapi", query=dict([query.split("=", 1)]) if query else None)
    return dict(document["components"]["schemas"])


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while True:
        ref = schema.get("$ref") or next((part["$ref"] for part in schema.get("allOf", []) if "$ref" in part), None)
        if ref is None:
            return schema
        schema = {**schemas[ref.rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k not in ("$ref", "allOf")}}


def _lists(value: Any, schema: dict[str, Any], schemas: dict[str, Any],
           path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every list in ``value`` with its schema, as the server's schema describes each field."""
    schema = _resolve(schema, schemas)
    if isinstance(value, dict):
        for key, item in value.items():
            field = schema.get("properties", {}).get(key) or schema.get("additionalProperties")
            assert isinstance(field, dict), f"{path}.{key}: not in the API server's schema"
            yield from _lists(item, field, schemas, f"{path}.{key}")
    elif isinstance(value, list):
        yield path, schema
        for index, item in enumerate(value):
            yield from _lists(item, schema["items"], schemas, f"{path}[{index}]")


def _kind_schema(schemas: dict[str, Any], obj: Object) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    return next(s for s in schemas.values() for gvk in s.get("x-kubernetes-group-version-kind", [])
                if (gvk["group"], gvk["version"], gvk["kind"]) == (group, version, obj["kind"]))


def test_no_list_the_reconciler_renders_of_a_create_checked_kind_is_keyed(kubeconfig: Path, tmp_path: Path) -> None:
    """A keyed list (``x-kubernetes-list-type`` map or set, or a strategic merge key, which server-side apply also
    reads as keys) is where apply refuses two entries of one key and a create does not: none may be in them."""
    client = _shared(tmp_path, kubeconfig, "dl")
    checked = [obj for obj in _rendered(tmp_path, "dl") if obj["kind"] in preflight.CREATE_CHECKED]
    by_version = {obj["apiVersion"]: _schemas(client, obj["apiVersion"]) for obj in checked}
    seen = []
    for obj in checked:
        schemas = by_version[obj["apiVersion"]]
        for path, schema in _lists(obj, _kind_schema(schemas, obj), schemas, obj["kind"]):
            seen.append(path)
            keyed = (schema.get("x-kubernetes-list-type", "atomic") != "atomic" or "x-kubernetes-patch-merge-key"
                     in schema or "merge" in schema.get("x-kubernetes-patch-strategy", ""))
            assert not keyed, f"{path} is a keyed list: {json.dumps(schema)[:300]}"
    assert any(path.startswith("RoleBinding.subjects") for path in seen), seen  # the walk does reach lists


def test_an_existing_object_is_dry_run_by_apply_so_an_immutable_field_is_refused(kubeconfig: Path, tmp_path: Path,
                                                                                namespace: Callable[[str], str]
                                                                                ) -> None:
    client = _shared(tmp_path, kubeconfig, "di")
    binding = _in(namespace("shared"), "RoleBinding", "access", roleRef=VIEW,
                  subjects=[{"kind": "Group", "name": "oidc:ml", "apiGroup": "rbac.authorization.k8s.io"}])
    client.apply(binding)
    changed = {**binding, "roleRef": {**VIEW, "name": "edit"}}
    with pytest.raises(errors.Invalid) as applied:
        client.apply(changed, dry_run=True)
    # The plan says update, and so does a create that finds the object (a race, or the scratch namespace's own).
    for new in (False, True):
        with pytest.raises(errors.Invalid) as checked:
            preflight.dry_run(client, changed, new=new)
        assert checked.value.message == applied.value.message and "cannot change roleRef" in checked.value.message


def test_a_cold_converge_dry_runs_new_objects_by_create_and_deployments_by_apply(
        kubeconfig: Path, tmp_path: Path, control_plane: controlplane.TestEnv) -> None:
    repo = private_repo(tmp_path, "dr")
    cluster = clients(repo, kubeconfig)
    marks = {name: audit.mark(c.audit_log) for name, c in control_plane.clusters.items()}
    results = converge.converge(load_landscape(repo), cluster, converge.ConvergeOptions(revision="dr"),
                                load_landscape(repo).targets, lambda _: None)
    assert all(r.ok for r in results), [r.errors for r in results]
    dry_runs: dict[str, set[str]] = {}
    for start in marks.values():
        for event in audit.events_since(start, users.ADMIN, USER_AGENT):
            if "dryRun=" in event["requestURI"]:
                dry_runs.setdefault(event["objectRef"]["resource"], set()).add(event["verb"])
    creates = {resource_for(kind).plural for kind in preflight.CREATE_CHECKED} & set(dry_runs)
    assert creates and all(dry_runs[plural] == {"create"} for plural in creates), dry_runs
    assert dry_runs["deployments"] == {"patch"}, dry_runs
