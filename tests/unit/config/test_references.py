"""Errors between documents: names, references, cycles, claims, allowed roles and reserved namespaces."""

from __future__ import annotations

import textwrap

from tests.unit.conftest import Repo, dedent

STAGING = dedent("""
    apiVersion: reconciler.dev/v1alpha1
    kind: Environment
    metadata: {name: staging}
    spec:
      extends: [standard]
      targets:
        - {cluster: shared, namespace: ml-staging}
    """)


def staging(extra: str) -> str:
    """The staging environment plus ``extra`` settings under spec, which start on line 8."""
    return STAGING + textwrap.indent(dedent(extra), "  ")


def test_duplicate_names_of_a_kind(repo: Repo) -> None:
    repo.write("vision-again.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata:
          name: vision
        spec: {users: [erin@example.com]}
        """)
    assert repo.only_error() == ("vision-again.yaml:4: metadata.name: duplicate Team 'vision' (first defined at "
                                 "teams.yaml:8); names of a kind must be unique")


def test_the_same_name_in_different_kinds_is_fine(repo: Repo) -> None:
    repo.write("dev-team.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata: {name: dev}
        spec: {users: [erin@example.com]}
        """)
    assert "dev" in repo.landscape().teams


def test_unknown_cluster(repo: Repo) -> None:
    repo.write("environments/staging.yaml", STAGING.replace("cluster: shared", "cluster: shraed"))
    assert repo.only_error() == ("environments/staging.yaml:7: spec.targets[0].cluster: unknown cluster 'shraed'; "
                                 "did you mean 'shared'?")


def test_unknown_team_in_an_environment(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("access: [{team: robotics, role: view}]"))
    assert repo.only_error() == ("environments/staging.yaml:8: spec.access[0].team: unknown team 'robotics'; known: "
                                 "research, vision")


def test_unknown_team_in_a_profile_is_reported_once_at_the_profile(repo: Repo) -> None:
    (repo.root / "profiles.yaml").write_text((repo.root / "profiles.yaml").read_text().replace(
        "{team: research, role: view}", "{team: reserach, role: view}"))
    repo.write("environments/staging.yaml", STAGING)
    assert repo.only_error() == ("profiles.yaml:10: spec.access[0].team: unknown team 'reserach'; did you mean "
                                 "'research'?")


def test_unknown_profile(repo: Repo) -> None:
    repo.write("environments/staging.yaml", STAGING.replace("extends: [standard]", "extends: [standard, gpu-heavy]"))
    assert repo.only_error() == ("environments/staging.yaml:5: spec.extends[1]: unknown profile or environment "
                                 "'gpu-heavy'; known: dev, staging, standard")


def test_queue_node_pool_missing_on_one_of_the_target_clusters(repo: Repo) -> None:
    repo.write("environments/train.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: train}
        spec:
          extends: [standard]
          targets:
            - {cluster: gpu, namespace: ml-train}
            - {cluster: shared, namespace: ml-train}
          agent:
            queues:
              - {name: training, nodePool: a100}
        """)
    assert repo.only_error() == ("environments/train.yaml:11: spec.agent.queues[0].nodePool: node pool 'a100' is not "
                                 "defined on cluster 'shared', a target of environment 'train'; known: cpu")


def test_agent_node_pool_missing(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("agent: {nodePool: gpu}"))
    assert repo.only_error() == ("environments/staging.yaml:8: spec.agent.nodePool: node pool 'gpu' is not defined "
                                 "on cluster 'shared', a target of environment 'staging'; did you mean 'cpu'?")


def test_cycle_in_extends(repo: Repo) -> None:
    repo.write("profiles-cycle.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Profile
        metadata: {name: a}
        spec:
          extends: [b]
        ---
        apiVersion: reconciler.dev/v1alpha1
        kind: Profile
        metadata: {name: b}
        spec:
          extends: [a]
        """)
    assert repo.only_error() == ("profiles-cycle.yaml:11: spec.extends[0]: extends forms a cycle (a -> b -> a); "
                                 "remove one of the links")


def test_an_environment_extending_itself(repo: Repo) -> None:
    repo.write("environments/staging.yaml", STAGING.replace("extends: [standard]", "extends: [standard, staging]"))
    assert repo.only_error() == ("environments/staging.yaml:5: spec.extends[1]: extends forms a cycle "
                                 "(staging -> staging); remove one of the links")


def test_two_environments_claiming_the_same_namespace(repo: Repo) -> None:
    repo.write("environments/staging.yaml", STAGING.replace("ml-staging", "ml-dev"))
    assert repo.only_error() == ("environments/staging.yaml:7: spec.targets[0]: cluster 'shared' namespace 'ml-dev' "
                                 "is already claimed by environment 'dev' at environments/dev.yaml:7; each namespace "
                                 "belongs to one environment")


def test_the_same_namespace_on_two_clusters_is_fine(repo: Repo) -> None:
    repo.write("environments/staging.yaml", STAGING.replace("{cluster: shared, namespace: ml-staging}",
                                                            "{cluster: gpu, namespace: ml-dev}"))
    assert {t.key for t in repo.landscape().targets} == {"shared/ml-dev", "gpu/ml-dev"}


def test_role_outside_allowed_cluster_roles(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("""
        access:
          - {team: vision, role: cluster-admin}
        """))
    assert repo.only_error() == ("environments/staging.yaml:9: spec.access[0].role: role 'cluster-admin' is not "
                                 "allowed by the Platform (allowedClusterRoles: view, edit, admin); git may grant "
                                 "only allow-listed ClusterRoles")


def test_allowed_cluster_roles_come_from_the_platform(repo: Repo) -> None:
    (repo.root / "platform.yaml").write_text((repo.root / "platform.yaml").read_text().replace(
        "[view, edit, admin]", "[view]"))
    assert repo.only_error() == ("environments/dev.yaml:9: spec.access[0].role: role 'edit' is not allowed by the "
                                 "Platform (allowedClusterRoles: view); git may grant only allow-listed ClusterRoles")


def test_without_a_platform_view_edit_and_admin_are_allowed(repo: Repo) -> None:
    repo.remove("platform.yaml")
    repo.write("environments/staging.yaml", staging("access: [{team: vision, role: admin}]"))
    assert repo.landscape().platform.allowed_cluster_roles == ("view", "edit", "admin")
    repo.write("environments/staging.yaml", staging("access: [{team: vision, role: cluster-admin}]"))
    assert repo.only_error().startswith("environments/staging.yaml:8: spec.access[0].role: role 'cluster-admin' is "
                                        "not allowed")


def test_reserved_namespaces(repo: Repo) -> None:
    repo.write("environments/staging.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: staging}
        spec:
          extends: [standard]
          targets:
            - {cluster: shared, namespace: kube-system}
            - {cluster: shared, namespace: default}
            - {cluster: gpu, namespace: kube-flow}
            - {cluster: shared, namespace: polyaxon}
            - {cluster: gpu, namespace: polyaxon}
        """)
    assert repo.errors() == [
        "environments/staging.yaml:7: spec.targets[0].namespace: namespace 'kube-system' is reserved; choose a "
        "namespace of the environment's own",
        "environments/staging.yaml:8: spec.targets[1].namespace: namespace 'default' is reserved; choose a namespace "
        "of the environment's own",
        "environments/staging.yaml:9: spec.targets[2].namespace: namespace 'kube-flow' is reserved; choose a "
        "namespace of the environment's own",
        "environments/staging.yaml:10: spec.targets[3].namespace: namespace 'polyaxon' on cluster 'shared' is the ML "
        "control plane's (Platform spec.controlPlane); choose a namespace of the environment's own",
    ]


def test_unknown_control_plane_cluster(repo: Repo) -> None:
    (repo.root / "platform.yaml").write_text((repo.root / "platform.yaml").read_text().replace(
        "cluster: shared", "cluster: hub"))
    assert repo.only_error() == "platform.yaml:6: spec.controlPlane.cluster: unknown cluster 'hub'; known: gpu, shared"


def test_duplicate_queue_and_access_entries_in_one_document(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("""
        access:
          - {team: vision, role: view}
          - {team: vision, role: edit}
        agent:
          queues:
            - {name: batch}
            - {name: batch, concurrency: 3}
        """))
    assert repo.errors() == [
        "environments/staging.yaml:10: spec.access[1]: team 'vision' is listed twice (first on line 9); keep one "
        "entry",
        "environments/staging.yaml:14: spec.agent.queues[1]: queue 'batch' is listed twice (first on line 13); keep "
        "one entry",
    ]


def test_labels_the_reconciler_sets_itself_are_refused(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("labels: {reconciler/environment: prod}"))
    assert repo.only_error() == ("environments/staging.yaml:8: spec.labels.reconciler/environment: this label is "
                                 "set by the reconciler itself; choose another key")


def test_a_second_platform(repo: Repo) -> None:
    repo.write("second-platform.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Platform
        metadata: {name: other}
        spec: {}
        """)
    assert repo.only_error() == ("second-platform.yaml:1: kind: a repository has one Platform; 'test-platform' is "
                                 "defined at platform.yaml:1")


def test_a_profile_with_schema_errors_is_reported_once_without_consequential_errors(repo: Repo) -> None:
    (repo.root / "profiles.yaml").write_text((repo.root / "profiles.yaml").read_text().replace(
        "image: polyaxon/polyaxon-agent:2.15.1", "image: 7"))
    repo.write("environments/staging.yaml", STAGING)
    assert repo.only_error() == ("profiles.yaml:12: spec.agent.image: expected text, got the number 7; put it in "
                                 "quotes to make it text")


def test_references_to_a_broken_cluster_are_not_reported_again(repo: Repo) -> None:
    (repo.root / "clusters.yaml").write_text((repo.root / "clusters.yaml").read_text().replace(
        "connection: {context: shared}", "connection: {}"))
    assert repo.only_error().startswith("clusters.yaml:5: spec.connection: set exactly one of:")


def test_every_error_of_every_file_is_collected_in_path_order(repo: Repo) -> None:
    repo.write("environments/staging.yaml", STAGING.replace("cluster: shared", "cluster: nowhere"))
    repo.write("a-broken.yaml", "kind: Team\nkind: Team\n")
    teams = (repo.root / "teams.yaml").read_text()
    (repo.root / "teams.yaml").write_text(teams.replace("name: vision", "name: Vision"))
    errors = repo.errors()
    assert [error.split(": ")[0] for error in errors] == [
        "a-broken.yaml:1",  # the document without apiVersion, metadata and spec
        "a-broken.yaml:1",
        "a-broken.yaml:1",
        "a-broken.yaml:2",  # the duplicate key
        "environments/staging.yaml:7",
        "teams.yaml:8",
    ]


def test_a_duplicate_key_does_not_hide_the_document_from_reference_checks(repo: Repo) -> None:
    teams = (repo.root / "teams.yaml").read_text()
    (repo.root / "teams.yaml").write_text(teams.replace("kind: Team\nmetadata: {name: vision}",
                                                        "kind: Team\nkind: Team\nmetadata: {name: vision}"))
    assert repo.only_error() == "teams.yaml:8: kind: duplicate key (first defined on line 7); keep only one"


def test_while_a_file_cannot_be_read_unknown_names_are_not_reported(repo: Repo) -> None:
    """The names may be defined in the unread file: reporting them would send the reader on a false trail."""
    (repo.root / "teams.yaml").write_text((repo.root / "teams.yaml").read_text() + "  broken: [\n")
    repo.write("environments/staging.yaml", staging("access: [{team: vision, role: cluster-admin}]"))
    assert repo.errors() == [
        "environments/staging.yaml:8: spec.access[0].role: role 'cluster-admin' is not allowed by the Platform "
        "(allowedClusterRoles: view, edit, admin); git may grant only allow-listed ClusterRoles",
        "teams.yaml:10:3: YAML syntax error: did not find expected key",
    ]


def test_a_limit_max_without_a_default_would_become_every_containers_request(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("""
        limits:
          max: {nvidia.com/gpu: 4, memory: 64Gi}
          default: {memory: 2Gi}
        """))
    assert repo.only_error() == ("environments/staging.yaml:9: spec.limits.max.nvidia.com/gpu: set "
                                 "limits.default.nvidia.com/gpu as well (for GPUs usually 0): without it, Kubernetes "
                                 "makes the max every container's default limit and request")


def test_two_connections_mounted_at_one_path(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("""
        agent:
          connections:
            - {name: models, kind: model-registry, secret: {name: registry, mountPath: /data}}
            - {name: datasets, kind: data-source, configMap: {name: datasets, mountPath: /data}}
        """))
    assert repo.only_error() == ("environments/staging.yaml:11: spec.agent.connections[1].configMap.mountPath: '/data' "
                                 "is already the mount path of another connection (at environments/staging.yaml:10); "
                                 "give each connection its own")
