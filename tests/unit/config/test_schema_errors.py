"""Schema violations: one test per class of error, each checking the exact ``path:line: field:``."""

from __future__ import annotations

import textwrap

import pytest

from tests.unit.conftest import Repo, dedent

ENV_HEAD = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Environment
    metadata: {name: staging}
    spec:
      extends: [standard]
      targets:
        - {cluster: shared, namespace: ml-staging}
    """


def env(extra: str) -> str:
    """A valid staging environment plus ``extra`` settings under spec, which start on line 8."""
    return dedent(ENV_HEAD) + textwrap.indent(dedent(extra), "  ")


def test_unknown_kind(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        """)
    assert repo.only_error() == ("bad.yaml:2: kind: unknown kind 'Deployment'; expected one of: Platform, Cluster, "
                                 "Team, Profile, Environment")


def test_a_secret_is_refused_because_secrets_never_live_in_git(repo: Repo) -> None:
    repo.write("secrets/agent-token.yaml", """
        # committed by mistake
        apiVersion: v1
        kind: Secret
        metadata: {name: agent-token}
        stringData: {token: hunter2}
        """)
    error = repo.only_error()
    assert error.startswith("secrets/agent-token.yaml:3: kind: Secrets never live in git")
    assert "hunter2" not in error


def test_a_document_without_kind(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        metadata: {name: orphan}
        spec: {}
        """)
    assert repo.only_error().startswith("bad.yaml:1: kind: required field is missing; set one of: Platform")


def test_unknown_field_points_at_the_misspelt_key(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("""
          quota:
            cpu: "4"
            memroy: 8Gi
        """))
    assert repo.only_error() == ("environments/staging.yaml:10: spec.quota.memroy: unknown field "
                                 "(did you mean 'memory'?); "
                                 "check its spelling "
                                 "against the schema of Environment")


def test_unknown_field_next_to_every_known_setting_flags_only_the_typo(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("""
          protected: true
          onRemove: delete
          adopt: false
          quota: {cpu: "4"}
          limits: {default: {cpu: "1"}}
          network: open
          labels: {cost-center: ml}
          access: [{team: vision, role: edit}]
          agent: {replicas: 2}
          quotas: {cpu: "4"}
        """))
    assert repo.only_error() == ("environments/staging.yaml:17: spec.quotas: unknown field (did you mean 'quota'?); "
                                 "check its spelling "
                                 "against the schema of Environment")


def test_unknown_top_level_field(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata: {name: ops}
        spec: {users: [dave]}
        status: {}
        """)
    assert repo.only_error().startswith("bad.yaml:5: status: unknown field")


@pytest.mark.parametrize(
    ("extra", "line", "field", "message"),
    [
        ("  agent: {replicas: two}\n", 8, "spec.agent.replicas", "expected a whole number, got the text 'two'"),
        ("  access: {team: vision, role: edit}\n", 8, "spec.access", "expected a list, got a mapping"),
        ("  quota: null\n", 8, "spec.quota", "expected a mapping, got null"),
        ("  protected: yes please\n", 8, "spec.protected", "expected true or false, got the text 'yes please'"),
        ("  labels: {tier: 1}\n", 8, "spec.labels.tier",
         "expected text, got the number 1; put it in quotes to make it text"),
    ],
)
def test_wrong_type(repo: Repo, extra: str, line: int, field: str, message: str) -> None:
    repo.write("environments/staging.yaml", env(extra))
    assert repo.only_error() == f"environments/staging.yaml:{line}: {field}: {message}"


def test_a_number_as_a_name(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata:
          name: 42
        spec: {users: [dave]}
        """)
    assert repo.only_error() == ("bad.yaml:4: metadata.name: expected text, got the number 42; put it in quotes to "
                                 "make it text")


def test_spec_null(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Cluster
        metadata: {name: edge}
        spec: null
        """)
    assert repo.only_error() == "bad.yaml:4: spec: expected a mapping, got null"


def test_missing_required_field(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: staging}
        spec:
          extends: [standard]
        """)
    assert repo.only_error() == "bad.yaml:4: spec.targets: required field is missing"


def test_missing_required_fields_are_each_reported(repo: Repo) -> None:
    repo.write("bad.yaml", """
        kind: Cluster
        metadata: {}
        """)
    assert repo.errors() == [
        "bad.yaml:1: apiVersion: required field is missing",
        "bad.yaml:1: spec: required field is missing",
        "bad.yaml:2: metadata.name: required field is missing",
    ]


def test_bad_enum_value(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("  onRemove: purge\n"))
    assert repo.only_error() == ("environments/staging.yaml:8: spec.onRemove: 'purge' is not one of: "
                                 '"orphan", "delete"')


def test_unsupported_api_version(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v2
        kind: Team
        metadata: {name: ops}
        spec: {users: [dave]}
        """)
    assert repo.only_error() == ("bad.yaml:1: apiVersion: 'reconciler.dev/v2' is not supported; use "
                                 "'reconciler.dev/v1alpha1'")


@pytest.mark.parametrize("name", ["Staging", "ml_staging", "-staging", "staging-", "s" * 64, "ml.staging", ""])
def test_invalid_kubernetes_name(repo: Repo, name: str) -> None:
    repo.write("environments/staging.yaml", env("").replace("{name: staging}", f"{{name: '{name}'}}"))
    assert repo.only_error() == (f"environments/staging.yaml:3: metadata.name: {name!r} is not a valid Kubernetes "
                                 "name: use at most 63 lower-case letters, digits and '-', starting and ending with "
                                 "a letter or digit")


def test_invalid_namespace_name(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("").replace("namespace: ml-staging", "namespace: ML-Staging"))
    assert repo.only_error().startswith("environments/staging.yaml:7: spec.targets[0].namespace: 'ML-Staging' is not "
                                        "a valid Kubernetes name")


def test_invalid_node_pool_name_points_at_the_key(repo: Repo) -> None:
    repo.write("edge.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Cluster
        metadata: {name: edge}
        spec:
          connection: {context: edge}
          nodePools:
            cpu: {}
            A100: {}
        """)
    assert repo.only_error().startswith("edge.yaml:8: spec.nodePools.A100: 'A100' is not a valid Kubernetes name")


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("12 cores", "is not a valid Kubernetes quantity"),
        ("1.5.0", "is not a valid Kubernetes quantity"),
        ("4GB", "is not a valid Kubernetes quantity"),
        ("4gi", "is not a valid Kubernetes quantity"),
        (" 4Gi", "is not a valid Kubernetes quantity"),
        ("-1Gi", "is not a valid Kubernetes quantity: use a non-negative number"),
        ("1e999999999", "is not a valid Kubernetes quantity"),
    ],
)
def test_invalid_quantity(repo: Repo, value: str, hint: str) -> None:
    repo.write("environments/staging.yaml", env(f"  quota:\n    memory: '{value}'\n"))
    assert repo.only_error().startswith(f"environments/staging.yaml:9: spec.quota.memory: {value!r} {hint}")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "-2"])
def test_invalid_numeric_quantity(repo: Repo, value: str) -> None:
    repo.write("environments/staging.yaml", env(f"  quota:\n    cpu: {value}\n"))
    assert repo.only_error().startswith("environments/staging.yaml:9: spec.quota.cpu: ")
    assert "is not a valid Kubernetes quantity" in repo.only_error()


@pytest.mark.parametrize("value", ["0.5", "'500m'", "'1.5'"])
def test_gpus_are_counted_in_whole_units(repo: Repo, value: str) -> None:
    repo.write("environments/staging.yaml", env(f"  quota:\n    gpu: {value}\n"))
    assert repo.only_error().startswith("environments/staging.yaml:9: spec.quota.gpu: ")
    assert "is not a whole, non-negative number" in repo.only_error()


def test_valid_quantities_are_accepted(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("""
          quota: {cpu: 0.5, memory: 1e12, limitsCpu: "2000m", limitsMemory: 8Gi, storage: 1Ti, gpu: "2", pods: 10}
          limits:
            default: {nvidia.com/gpu: 0, ephemeral-storage: 1Gi}
            max: {nvidia.com/gpu: 1, ephemeral-storage: 10Gi}
        """))
    quota = repo.landscape().environments["staging"].quota
    assert quota["requests.cpu"] == "0.5"
    assert quota["requests.memory"] == "1e12"
    assert quota["requests.nvidia.com/gpu"] == "2"


@pytest.mark.parametrize(
    ("labels", "field", "hint"),
    [
        ("{'team name': ml}", "spec.labels.team name", "is not a valid label key"),
        ("{'Example.com/team': ml}", "spec.labels.Example.com/team", "is not a valid label key"),
        ("{team: 'machine learning'}", "spec.labels.team", "is not a valid label value"),
        ("{team: " + "x" * 64 + "}", "spec.labels.team", "is not a valid label value"),
    ],
)
def test_invalid_labels(repo: Repo, labels: str, field: str, hint: str) -> None:
    repo.write("environments/staging.yaml", env(f"  labels: {labels}\n"))
    error = repo.only_error()
    assert error.startswith(f"environments/staging.yaml:8: {field}: ")
    assert hint in error


def test_exactly_one_of_team_or_user(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("""
          access:
            - {team: vision, user: bob@example.com, role: edit}
            - {role: view}
        """))
    assert repo.errors() == [
        "environments/staging.yaml:9: spec.access[0]: set exactly one of: team, user",
        "environments/staging.yaml:10: spec.access[1]: set exactly one of: team, user",
    ]


def test_exactly_one_cluster_connection(repo: Repo) -> None:
    repo.write("edge.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Cluster
        metadata: {name: edge}
        spec:
          connection: {context: edge, inCluster: true}
        """)
    assert repo.only_error() == ("edge.yaml:5: spec.connection: set exactly one of: context, inCluster, "
                                 "kubeconfigSecret")


def test_a_team_needs_members(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata: {name: ghosts}
        spec:
          groups: []
        """)
    assert repo.only_error() == "bad.yaml:5: spec.groups: needs at least one item"


def test_several_schema_errors_in_one_document_are_all_reported(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("""
          network: closed
          agent:
            replicas: 99
            queues:
              - {name: Default, concurrency: 0}
        """))
    errors = repo.errors()
    assert [error.split(": ")[0] + ": " + error.split(": ")[1] for error in errors] == [
        "environments/staging.yaml:8: spec.network",
        "environments/staging.yaml:10: spec.agent.replicas",
        "environments/staging.yaml:12: spec.agent.queues[0].concurrency",
        "environments/staging.yaml:12: spec.agent.queues[0].name",
    ]


def test_null_list_items_are_type_errors_only(repo: Repo) -> None:
    repo.write("environments/staging.yaml", env("""
          access: [~]
          agent: {queues: [~]}
        """))
    assert repo.errors() == [
        "environments/staging.yaml:8: spec.access[0]: expected a mapping, got null",
        "environments/staging.yaml:9: spec.agent.queues[0]: expected a mapping, got null",
    ]


def test_kind_null(repo: Repo) -> None:
    repo.write("bad.yaml", "apiVersion: reconciler.dev/v1alpha1\nkind: ~\n")
    assert repo.only_error() == ("bad.yaml:2: kind: unknown kind null; expected one of: Platform, Cluster, Team, "
                                 "Profile, Environment")


def test_a_connection_name_leaves_room_for_its_volume_name(repo: Repo) -> None:
    name = "d" * 59
    repo.write("environments/staging.yaml", env(f"""
          agent:
            connections: [{{name: {name}, kind: data-source, configMap: {{name: data}}}}]
        """))
    assert repo.only_error() == f"environments/staging.yaml:9: spec.agent.connections[0].name: '{name}' is too long"
