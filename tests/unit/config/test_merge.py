"""The merge rules of profiles and ``extends`` (documented in reconciler/config/merge.py and docs/merge-rules.md)."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.config.merge import merge
from reconciler.config.parse import parse_documents
from tests.unit.conftest import Repo


def located(text: str, path: str = "f.yaml") -> Any:
    documents, errors = parse_documents(text, path)
    assert errors == []
    return documents[0].body


# -- the merge function --------------------------------------------------------------------------------------------


def test_maps_merge_deeply_and_scalars_override() -> None:
    base = {"quota": {"cpu": "8", "memory": "32Gi"}, "network": "isolated", "agent": {"resources": {
        "requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}}
    override = {"quota": {"cpu": "16"}, "network": "open", "agent": {"resources": {"limits": {"memory": "1Gi"}}}}
    assert merge(base, override) == {
        "quota": {"cpu": "16", "memory": "32Gi"},
        "network": "open",
        "agent": {"resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
    }


def test_lists_that_are_not_named_lists_are_replaced() -> None:
    assert merge({"extends": ["a", "b"]}, {"extends": ["c"]}) == {"extends": ["c"]}
    assert merge({"users": ["a"]}, {"users": ["b"]}) == {"users": ["b"]}


def test_queues_merge_by_name_and_new_ones_are_appended_in_order() -> None:
    base = {"queues": [{"name": "default", "concurrency": 4, "nodePool": "cpu"}, {"name": "batch"}]}
    override = {"queues": [{"name": "training", "nodePool": "a100"}, {"name": "default", "concurrency": 1}]}
    assert merge(base, override)["queues"] == [
        {"name": "default", "concurrency": 1, "nodePool": "cpu"},
        {"name": "batch"},
        {"name": "training", "nodePool": "a100"},
    ]


def test_access_merges_by_team_or_user() -> None:
    base = {"access": [{"team": "research", "role": "edit"}, {"user": "alice", "role": "view"}]}
    override = {"access": [{"team": "research", "role": "view"}, {"user": "research", "role": "admin"},
                           {"user": "alice", "role": "edit"}]}
    assert merge(base, override)["access"] == [
        {"team": "research", "role": "view"},
        {"user": "alice", "role": "edit"},
        {"user": "research", "role": "admin"},
    ]


def test_a_connection_switching_from_secret_to_config_map_drops_the_secret() -> None:
    base = {"connections": [{"name": "data", "kind": "data-source", "secret": {"name": "s3"}}]}
    override = {"connections": [{"name": "data", "configMap": {"name": "datasets"}}]}
    assert merge(base, override)["connections"] == [
        {"name": "data", "kind": "data-source", "configMap": {"name": "datasets"}},
    ]


def test_merge_does_not_modify_its_inputs() -> None:
    base = {"quota": {"cpu": "8"}, "queues": [{"name": "a", "concurrency": 1}]}
    override = {"quota": {"memory": "1Gi"}, "queues": [{"name": "a", "concurrency": 2}]}
    before = copy.deepcopy((base, override))
    merge(base, override)
    assert (base, override) == before


def test_merged_values_keep_the_location_of_the_document_that_set_them() -> None:
    base = located("quota:\n  cpu: '8'\n  memory: 32Gi\nqueues:\n  - {name: a}\n  - {name: b}\n", "profile.yaml")
    override = located("\n\nquota:\n  cpu: '16'\nqueues:\n  - {name: b, concurrency: 2}\n", "env.yaml")
    merged = merge(base, override)
    assert str(merged["quota"].where("cpu")) == "env.yaml:4"
    assert str(merged["quota"].where("memory")) == "profile.yaml:3"
    assert str(merged["queues"].where(0)) == "profile.yaml:5"
    assert str(merged["queues"].where(1)) == "env.yaml:6"
    assert merged["queues"].origin(1) == 0


# -- resolution ----------------------------------------------------------------------------------------------------

PROFILES = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Profile
    metadata: {name: small}
    spec:
      quota: {cpu: "4", memory: 8Gi, pods: 50}
      network: isolated
      labels: {tier: small}
      agent:
        image: agent:1
        tokenSecret: {name: agent-token}
        replicas: 1
        queues:
          - {name: default, concurrency: 2, nodePool: cpu}
    ---
    apiVersion: reconciler.dev/v1alpha1
    kind: Profile
    metadata: {name: large}
    spec:
      quota: {cpu: "64", gpu: 4}
      labels: {tier: large}
      agent:
        replicas: 3
        queues:
          - {name: training, concurrency: 1, nodePool: a100}
    ---
    apiVersion: reconciler.dev/v1alpha1
    kind: Profile
    metadata: {name: large-open}
    spec:
      extends: [large]
      network: open
    """


def environment(name: str, extends: str, extra: str = "", cluster: str = "gpu") -> str:
    return f"""
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {{name: {name}}}
        spec:
          extends: {extends}
          targets:
            - {{cluster: {cluster}, namespace: ml-{name}}}
        {extra}"""


def test_later_parents_override_earlier_ones_and_maps_still_merge(repo: Repo) -> None:
    repo.write("sizes.yaml", PROFILES)
    repo.write("environments/a.yaml", environment("a", "[small, large]"))
    repo.write("environments/b.yaml", environment("b", "[large, small]"))
    envs = repo.landscape().environments
    assert envs["a"].quota == {"requests.cpu": "64", "requests.memory": "8Gi", "requests.nvidia.com/gpu": "4",
                               "pods": "50"}
    assert envs["b"].quota["requests.cpu"] == "4"
    assert envs["a"].labels == {"tier": "large"}
    assert envs["b"].labels == {"tier": "small"}
    assert envs["a"].agent is not None and envs["b"].agent is not None
    assert (envs["a"].agent.replicas, envs["b"].agent.replicas) == (3, 1)
    assert [q.name for q in envs["a"].agent.queues] == ["default", "training"]
    assert [q.name for q in envs["b"].agent.queues] == ["training", "default"]


def test_the_environments_own_values_win(repo: Repo) -> None:
    repo.write("sizes.yaml", PROFILES)
    repo.write("environments/a.yaml", environment("a", "[small, large]", """
          quota: {cpu: "2"}
          network: isolated
          agent:
            queues:
              - {name: training, concurrency: 5}
        """))
    env = repo.landscape().environments["a"]
    assert env.quota["requests.cpu"] == "2"
    assert env.quota["requests.memory"] == "8Gi"
    assert env.network == "isolated"
    assert env.agent is not None
    training = next(q for q in env.agent.queues if q.name == "training")
    assert (training.concurrency, training.node_pool) == (5, "a100")


def test_profiles_extend_profiles(repo: Repo) -> None:
    repo.write("sizes.yaml", PROFILES)
    repo.write("environments/a.yaml", environment("a", "[small, large-open]"))
    env = repo.landscape().environments["a"]
    assert env.network == "open"
    assert env.quota["requests.cpu"] == "64"


def test_an_environment_extending_an_environment_inherits_settings_but_not_its_identity(repo: Repo) -> None:
    repo.write("environments/prod.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: prod}
        spec:
          extends: [standard]
          protected: true
          onRemove: delete
          adopt: true
          targets:
            - {cluster: gpu, namespace: ml-prod}
          quota: {cpu: "32"}
        """)
    repo.write("environments/prod-eu.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: prod-eu}
        spec:
          extends: [prod]
          targets:
            - {cluster: shared, namespace: ml-prod-eu}
        """)
    landscape = repo.landscape()
    prod, copy_ = landscape.environments["prod"], landscape.environments["prod-eu"]
    assert copy_.quota["requests.cpu"] == "32"
    assert copy_.quota["requests.memory"] == prod.quota["requests.memory"]
    assert (copy_.protected, copy_.on_remove, copy_.adopt) == (False, "orphan", False)
    assert copy_.targets == (("shared", "ml-prod-eu"),)


def test_access_from_a_profile_is_overridden_per_team(repo: Repo) -> None:
    env = repo.landscape().environments["dev"]
    assert [(a.subject, a.name, a.role) for a in env.access] == [("team", "research", "edit")]


def test_an_inherited_agent_can_be_switched_off(repo: Repo) -> None:
    repo.write("environments/dev.yaml", environment("dev", "[standard]", "  agent: {enabled: false}\n", "shared"))
    assert repo.landscape().environments["dev"].agent is None


def test_error_location_points_to_the_file_that_set_the_value(repo: Repo) -> None:
    """A queue whose node pool a cluster lacks is reported where the queue was written: here, the profile."""
    repo.write("sizes.yaml", PROFILES)
    repo.write("environments/a.yaml", environment("a", "[small, large]", cluster="shared"))
    assert repo.only_error() == ("sizes.yaml:24: spec.agent.queues[0].nodePool: node pool 'a100' is not defined on "
                                 "cluster 'shared', a target of environment 'a'; known: cpu")


def test_an_overriding_value_is_reported_in_the_environments_file(repo: Repo) -> None:
    repo.write("sizes.yaml", PROFILES)
    repo.write("environments/a.yaml", environment("a", "[small, large]", """
          agent:
            queues:
              - {name: training, nodePool: h100}
        """))
    assert repo.only_error() == ("environments/a.yaml:11: spec.agent.queues[0].nodePool: node pool 'h100' is not "
                                 "defined on cluster 'gpu', a target of environment 'a'; did you mean 'a100'?")


def test_a_required_agent_field_may_come_from_any_parent(repo: Repo) -> None:
    repo.write("sizes.yaml", PROFILES)
    repo.write("environments/a.yaml", environment("a", "[small, large]"))
    assert repo.landscape().environments["a"].agent is not None
    repo.write("environments/a.yaml", environment("a", "[large]"))
    assert repo.errors() == [
        "environments/a.yaml:5: spec.agent.image: required field is missing, also after merging extends; set it in "
        "the environment or in one of its profiles",
        "environments/a.yaml:5: spec.agent.tokenSecret: required field is missing, also after merging extends; set it "
        "in the environment or in one of its profiles",
    ]
