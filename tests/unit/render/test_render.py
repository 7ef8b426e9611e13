"""Properties of rendered objects, for the sample repository and for small repositories written by the tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from reconciler.config import Guardrails, Landscape, load_landscape
from reconciler.config.model import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, PLATFORM_LABEL
from reconciler.render import kueue, render_landscape, render_target
from reconciler.render.agent import AGENT_BINDING, AGENT_CLUSTER_ROLE, AGENT_NAME
from reconciler.render.objects import APPLY_ORDER, Manifest
from reconciler.render.output import to_json, to_yaml
from tests.unit.conftest import SAMPLE_REPO, Repo

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"

CLUSTER_SCOPED_RESOURCES = {"nodes", "namespaces", "persistentvolumes", "clusterroles", "clusterrolebindings",
                            "customresourcedefinitions", "storageclasses", "priorityclasses"}


def find(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{len(matches)} {kind} {name or ''}"
    return matches[0]


def test_every_target_renders_the_objects_of_an_environment(sample_rendered: dict[str, list[Manifest]]) -> None:
    assert sorted(sample_rendered) == ["gpu/ml-prod", "shared/ml-dev", "shared/ml-staging"]
    for objects in sample_rendered.values():
        kinds = {o["kind"] for o in objects}
        # Roles are only pruned (those of older releases); the sample enforces quota with ResourceQuotas, not Kueue.
        assert kinds == set(APPLY_ORDER) - {"Role", *kueue.KINDS}


def test_every_object_carries_the_ownership_labels(sample_rendered: dict[str, list[Manifest]]) -> None:
    environment_of = {"shared/ml-dev": "dev", "shared/ml-staging": "staging", "gpu/ml-prod": "prod"}
    for key, objects in sample_rendered.items():
        for manifest in objects:
            labels = manifest["metadata"]["labels"]
            assert labels[MANAGED_BY_LABEL] == "reconciler", manifest["metadata"]
            assert labels[ENVIRONMENT_LABEL] == environment_of[key], manifest["metadata"]
            assert labels[PLATFORM_LABEL] == "ml-platform", manifest["metadata"]


def test_the_namespace_enforces_the_environments_pod_security_level(sample_copy: Repo) -> None:
    prod = sample_copy.root / "environments/prod.yaml"
    prod.write_text(prod.read_text().replace("  protected: true\n", "  protected: true\n  podSecurity: restricted\n"))
    landscape = sample_copy.landscape()
    for target, level in ((landscape.select(environment="prod")[0], "restricted"),
                          (landscape.select(environment="dev")[0], "baseline")):
        labels = find(render_target(target, landscape), "Namespace")["metadata"]["labels"]
        assert {k: v for k, v in labels.items() if k.startswith("pod-security.")} == {
            "pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/warn": level,
            "pod-security.kubernetes.io/audit": level}


def test_namespaced_objects_live_in_the_targets_namespace(sample_rendered: dict[str, list[Manifest]]) -> None:
    for key, objects in sample_rendered.items():
        namespace = key.split("/")[1]
        for manifest in objects:
            if manifest["kind"] == "Namespace":
                assert manifest["metadata"]["name"] == namespace
                assert "namespace" not in manifest["metadata"]
            else:
                assert manifest["metadata"]["namespace"] == namespace


def test_objects_come_in_apply_order(sample_rendered: dict[str, list[Manifest]]) -> None:
    for objects in sample_rendered.values():
        positions = [APPLY_ORDER.index(o["kind"]) for o in objects]
        assert positions == sorted(positions)
        assert objects[0]["kind"] == "Namespace"


def test_output_is_deterministic_across_loads_and_file_layouts(tmp_path: Path) -> None:
    first = to_yaml([o for objects in render_landscape(load_landscape(SAMPLE_REPO)).values() for o in objects])
    # The same documents in other files and folders, read in another order.
    moved = tmp_path / "moved"
    moved.mkdir()
    for index, path in enumerate(sorted(SAMPLE_REPO.rglob("*.yaml"), reverse=True)):
        shutil.copy(path, moved / f"{index:02d}-{path.name}")
    second = to_yaml([o for objects in render_landscape(load_landscape(moved)).values() for o in objects])
    assert first == second
    assert to_json(render_landscape(load_landscape(SAMPLE_REPO))) == to_json(render_landscape(load_landscape(moved)))


def test_role_bindings_take_their_subjects_from_the_team(sample_rendered: dict[str, list[Manifest]]) -> None:
    binding = find(sample_rendered["gpu/ml-prod"], "RoleBinding", "access-team-platform-admin")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}
    assert binding["subjects"] == [
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "oidc:platform"},
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "carol@example.com"},
    ]


def test_a_service_account_the_guardrails_allow_is_a_subject(sample_copy: Repo) -> None:
    teams = sample_copy.root / "teams/teams.yaml"
    teams.write_text(teams.read_text().replace("  users: [carol@example.com]\n", "  users: [carol@example.com]\n"
                                               "  serviceAccounts: [{namespace: polyaxon, name: operator}]\n"))
    landscape = load_landscape(sample_copy.root, Guardrails(service_account_namespaces=frozenset({"polyaxon"})))
    binding = find(render_target(landscape.select(environment="prod")[0], landscape), "RoleBinding",
                   "access-team-platform-admin")
    assert binding["subjects"][-1] == {"kind": "ServiceAccount", "namespace": "polyaxon", "name": "operator"}


def test_access_differs_per_environment(sample_rendered: dict[str, list[Manifest]]) -> None:
    def roles(key: str) -> dict[str, str]:
        return {o["metadata"]["name"].split("-")[2]: o["roleRef"]["name"] for o in sample_rendered[key]
                if o["kind"] == "RoleBinding" and o["metadata"]["name"].startswith("access-")}

    assert roles("shared/ml-dev") == {"platform": "admin", "research": "edit", "vision": "edit"}
    assert roles("gpu/ml-prod") == {"platform": "admin", "research": "view", "vision": "view"}


def test_a_user_binding_has_one_user_subject_and_a_valid_name(repo: Repo) -> None:
    repo.write("environments/dev.yaml", (repo.root / "environments/dev.yaml").read_text().replace(
        "{team: research, role: edit}", "{user: Dana.Smith@Example.com, role: view}"))
    landscape = repo.landscape()
    objects = render_target(landscape.targets[0], landscape)
    binding = next(o for o in objects if o["kind"] == "RoleBinding" and "user" in o["metadata"]["name"])
    assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io",
                                    "name": "Dana.Smith@Example.com"}]
    name = binding["metadata"]["name"]
    assert name.startswith("access-user-dana-smith-example-com-")
    assert name.endswith("-view")
    assert len(name) <= 253 and name == name.lower()


def test_no_role_is_rendered_the_agent_clusterrole_of_deploy_grants_nothing_cluster_wide(
        sample_objects: list[Manifest]) -> None:
    assert not [o for o in sample_objects if o["kind"] in ("Role", "ClusterRole", "ClusterRoleBinding")]
    installed = [d for d in yaml.safe_load_all((DEPLOY / "agent-role.yaml").read_text()) if d]
    assert [(d["kind"], d["metadata"]["name"]) for d in installed] == [("ClusterRole", AGENT_CLUSTER_ROLE)]
    for rule in installed[0]["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
        assert not CLUSTER_SCOPED_RESOURCES & set(rule["resources"])
        assert "resourceNames" not in rule
    resources = {r for rule in installed[0]["rules"] for r in rule["resources"]}
    assert {"pods", "pods/log", "jobs", "services", "configmaps", "secrets", "deployments", "events"} <= resources


def test_the_agent_role_binding_binds_the_installed_clusterrole_in_its_namespace_only(
        sample_rendered: dict[str, list[Manifest]]) -> None:
    binding = find(sample_rendered["shared/ml-dev"], "RoleBinding", AGENT_BINDING)
    assert binding["metadata"]["namespace"] == "ml-dev"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": AGENT_CLUSTER_ROLE}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": AGENT_NAME, "namespace": "ml-dev"}]
    reconciler_role = next(d for d in yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text())
                           if d and d["kind"] == "ClusterRole")
    bindable = {name for rule in reconciler_role["rules"] if "bind" in rule["verbs"] for name in rule["resourceNames"]}
    assert AGENT_CLUSTER_ROLE in bindable, "the reconciler may bind the agent ClusterRole it renders"


def test_gpu_quota_uses_the_extended_resource_key(sample_rendered: dict[str, list[Manifest]]) -> None:
    hard = find(sample_rendered["gpu/ml-prod"], "ResourceQuota")["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "8"
    assert "gpu" not in hard
    assert hard["requests.cpu"] == "64"
    assert hard["count/persistentvolumeclaims"] == "20"
    assert all(isinstance(value, str) for value in hard.values())


def test_queues_are_rendered_nowhere(sample_objects: list[Manifest]) -> None:
    """The agent reads no queues: they belong to the control plane (docs/topologies.md), so no object carries them."""
    assert not [o for o in sample_objects if "queue" in json.dumps(o).lower()]


def test_runs_default_to_the_agents_node_pool(sample_rendered: dict[str, list[Manifest]]) -> None:
    data = find(sample_rendered["gpu/ml-prod"], "ConfigMap")["data"]
    assert json.loads(data["POLYAXON_AGENT_DEFAULT_SCHEDULING"]) == {"nodeSelector": {"pool": "cpu"}}


def test_runs_on_a_gpu_pool_tolerate_its_taint(repo: Repo) -> None:
    repo.write("environments/train.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: train}
        spec:
          extends: [standard]
          targets: [{cluster: gpu, namespace: ml-train}]
          agent: {nodePool: cpu, runsNodePool: a100}
        """)
    landscape = repo.landscape()
    target = next(t for t in landscape.targets if t.environment.name == "train")
    objects = render_target(target, landscape)
    assert json.loads(find(objects, "ConfigMap")["data"]["POLYAXON_AGENT_DEFAULT_SCHEDULING"]) == {
        "nodeSelector": {"gpu": "a100"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
    assert find(objects, "Deployment")["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "cpu"}


def test_the_agent_is_configured_as_polyaxon_reads_it(sample_rendered: dict[str, list[Manifest]]) -> None:
    data = find(sample_rendered["shared/ml-staging"], "ConfigMap")["data"]
    assert data["POLYAXON_SET_AGENT"] == "true" and data["POLYAXON_K8S_IN_CLUSTER"] == "true"
    assert data["POLYAXON_K8S_NAMESPACE"] == "ml-staging"
    assert data["POLYAXON_HOST"] == "http://polyaxon-polyaxon-api.polyaxon.svc:80"
    assert data["POLYAXON_AGENT_INSTANCE"] == "ml-platform.agents.8a7b6c5d4e3f4a1b9c8d7e6f5a4b3c2d"
    container = find(sample_rendered["shared/ml-staging"], "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["start"]
    assert container["envFrom"] == [{"configMapRef": {"name": "ml-agent-config"}}]


def test_the_agent_deployment_runs_on_its_node_pool(sample_rendered: dict[str, list[Manifest]]) -> None:
    pod = find(sample_rendered["gpu/ml-prod"], "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "cpu"}
    assert "tolerations" not in pod
    assert pod["serviceAccountName"] == AGENT_NAME


def test_an_agent_on_a_gpu_pool_tolerates_its_taint(repo: Repo) -> None:
    repo.write("environments/train.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: train}
        spec:
          extends: [standard]
          targets: [{cluster: gpu, namespace: ml-train}]
          agent: {nodePool: a100}
        """)
    landscape = repo.landscape()
    target = next(t for t in landscape.targets if t.environment.name == "train")
    pod = find(render_target(target, landscape), "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"gpu": "a100"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_the_agent_token_comes_from_the_referenced_secret(sample_rendered: dict[str, list[Manifest]]) -> None:
    container = find(sample_rendered["shared/ml-dev"], "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "POLYAXON_AUTH_TOKEN", "valueFrom": {
        "secretKeyRef": {"name": "polyaxon-agent-token", "key": "POLYAXON_AUTH_TOKEN"}}}]


def test_no_secret_is_ever_rendered(sample_objects: list[Manifest]) -> None:
    assert not [o for o in sample_objects if o["kind"] == "Secret"]


def test_connections_reach_polyaxon_by_reference(sample_rendered: dict[str, list[Manifest]]) -> None:
    data = find(sample_rendered["gpu/ml-prod"], "ConfigMap")["data"]
    assert json.loads(data["POLYAXON_AGENT_ARTIFACTS_STORE"]) == {
        "name": "artifacts", "kind": "s3", "schema": {"bucket": "s3://ml-platform-artifacts"},
        "secret": {"name": "artifacts-store-credentials", "mountPath": "/etc/polyaxon/artifacts"}}
    assert json.loads(data["POLYAXON_AGENT_CONNECTIONS"]) == [
        {"name": "datasets", "kind": "custom",
         "configMap": {"name": "prod-datasets", "mountPath": "/etc/connections/datasets"}}]
    assert "POLYAXON_AGENT_CONNECTIONS" not in find(sample_rendered["shared/ml-dev"], "ConfigMap")["data"]


def test_network_isolation_admits_the_namespace_and_the_control_plane(
        sample_rendered: dict[str, list[Manifest]]) -> None:
    policy = find(sample_rendered["shared/ml-staging"], "NetworkPolicy")
    assert policy["spec"]["podSelector"] == {}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [{"from": [
        {"podSelector": {}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "polyaxon"}}},
    ]}]


def test_an_open_environment_has_no_network_policy(repo: Repo) -> None:
    repo.write("environments/dev.yaml", (repo.root / "environments/dev.yaml").read_text() + "  network: open\n")
    landscape = repo.landscape()
    assert "NetworkPolicy" not in {o["kind"] for o in render_target(landscape.targets[0], landscape)}


def test_environment_labels_are_added_but_cannot_replace_ours(repo: Repo) -> None:
    repo.write("environments/dev.yaml", (repo.root / "environments/dev.yaml").read_text()
               + "  labels: {cost-center: ml-research}\n")
    landscape = repo.landscape()
    for manifest in render_target(landscape.targets[0], landscape):
        assert manifest["metadata"]["labels"]["cost-center"] == "ml-research"
        assert manifest["metadata"]["labels"][ENVIRONMENT_LABEL] == "dev"


def test_replicated_targets_render_the_same_environment_on_each_cluster(repo: Repo) -> None:
    repo.write("environments/prod.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: prod}
        spec:
          extends: [standard]
          targets:
            - {cluster: gpu, namespace: ml-prod}
            - {cluster: shared, namespace: ml-prod}
        """)
    rendered = render_landscape(repo.landscape())
    east, west = rendered["gpu/ml-prod"], rendered["shared/ml-prod"]
    assert [(o["kind"], o["metadata"]["name"]) for o in east] == [(o["kind"], o["metadata"]["name"]) for o in west]
    assert find(east, "ResourceQuota") == find(west, "ResourceQuota")


def test_an_environment_without_an_agent_renders_no_agent_objects(repo: Repo) -> None:
    repo.write("environments/dev.yaml", (repo.root / "environments/dev.yaml").read_text()
               + "  agent: {enabled: false}\n")
    landscape = repo.landscape()
    kinds = [o["kind"] for o in render_target(landscape.targets[0], landscape)]
    assert kinds == ["Namespace", "RoleBinding", "LimitRange", "ResourceQuota", "NetworkPolicy"]


@pytest.mark.parametrize("selection", [("shared", None), (None, "prod"), ("gpu", "dev")])
def test_rendering_a_selection(sample_landscape: Landscape, selection: tuple[str | None, str | None]) -> None:
    cluster, environment = selection
    keys = sorted(render_landscape(sample_landscape, sample_landscape.select(cluster, environment)))
    expected = {("shared", None): ["shared/ml-dev", "shared/ml-staging"], (None, "prod"): ["gpu/ml-prod"],
                ("gpu", "dev"): []}
    assert keys == expected[selection]
