"""Refusals that keep environments apart: subjects that mean everyone, foreign service accounts, reserved
labels and Pod Security levels the installation does not allow. Each names the file and line to change."""

from __future__ import annotations

import pytest

from reconciler.config import Guardrails, load_landscape
from tests.unit.config.test_references import staging
from tests.unit.conftest import Repo

TEAM = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Team
    metadata: {name: ops}
    spec:
      groups:
        - oidc:ops
        - {group}
      users: [dora@example.com]
    """


@pytest.mark.parametrize("group", ["system:authenticated", "system:unauthenticated", "system:masters",
                                   "system:serviceaccounts", "system:serviceaccounts:ml-dev", "system:nodes",
                                   "System:Authenticated", "' system:masters'", "SYSTEM:MASTERS",
                                   "system:serviceaccounts:kube-system", "system:bootstrappers"])
def test_a_team_with_a_system_group_is_refused(repo: Repo, group: str) -> None:
    repo.write("ops.yaml", TEAM.replace("{group}", group))
    shown = group.strip("'")
    assert repo.only_error() == (
        f"ops.yaml:7: spec.groups[1]: group {shown!r} is a Kubernetes system group (names starting with 'system:' "
        "stand for whole classes of users, such as everyone who can log in or any anonymous request, or for "
        "Kubernetes' own components); bind people's own groups instead")


def test_a_team_with_a_system_user_is_refused(repo: Repo) -> None:
    repo.write("ops.yaml", TEAM.replace("{group}", "oidc:sre").replace("[dora@example.com]",
                                                                        "[dora@example.com, system:anonymous]"))
    assert repo.only_error() == (
        "ops.yaml:8: spec.users[1]: user 'system:anonymous' is a Kubernetes system user (names starting with "
        "'system:' stand for whole classes of users, such as everyone who can log in or any anonymous request, or "
        "for Kubernetes' own components); bind people's own users instead")


def test_a_service_account_spelled_as_a_user_is_refused_with_the_way_to_list_it(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging(
        "access:\n  - {user: 'system:serviceaccount:kube-system:default', role: view}"))
    assert repo.only_error() == (
        "environments/staging.yaml:9: spec.access[0].user: user 'system:serviceaccount:kube-system:default' is the "
        "service account kube-system/default; list it under a Team's serviceAccounts ({namespace: kube-system, "
        "name: default}) so its namespace is checked")


def test_an_environment_granting_anonymous_access_is_refused(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("access:\n  - {user: alice@example.com, role: view}\n"
                                                    "  - {user: system:anonymous, role: view}"))
    assert repo.only_error() == (
        "environments/staging.yaml:10: spec.access[1].user: user 'system:anonymous' is a Kubernetes system user "
        "(names starting with 'system:' stand for whole classes of users, such as everyone who can log in or any "
        "anonymous request, or for Kubernetes' own components); bind people's own users instead")


def test_a_system_user_in_a_profile_is_reported_once_at_the_profile(repo: Repo) -> None:
    profiles = repo.root / "profiles.yaml"
    profiles.write_text(profiles.read_text().replace("- {team: research, role: view}",
                                                     "- {user: 'system:authenticated', role: view}"))
    repo.write("environments/staging.yaml", staging("network: open"))
    [error] = repo.errors()
    assert error.startswith("profiles.yaml:10: spec.access[0].user: user 'system:authenticated' is a Kubernetes "
                            "system user")


SERVICE_ACCOUNT_TEAM = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Team
    metadata: {name: pipelines}
    spec:
      serviceAccounts:
        - {namespace: ml-staging, name: runner}
        - {namespace: NAMESPACE, name: deployer}
    """


def test_a_service_account_of_another_namespace_is_refused_where_the_team_is_bound(repo: Repo) -> None:
    repo.write("pipelines.yaml", SERVICE_ACCOUNT_TEAM.replace("NAMESPACE", "ml-dev"))
    repo.write("environments/staging.yaml", staging("access:\n  - {team: pipelines, role: edit}"))
    assert repo.only_error() == (
        "environments/staging.yaml:9: spec.access[0].team: team 'pipelines' names service account ml-dev/deployer "
        "(at pipelines.yaml:7), outside the namespace of environment 'staging' (ml-staging): this binding would "
        "give another namespace's workloads 'edit' here. Bind only service accounts of the environment's own "
        "namespace, or ask the installation's owner to allow namespace 'ml-dev' (guardrails "
        "serviceAccountNamespaces, built-in defaults)")


def test_service_accounts_of_the_own_namespace_or_allowed_by_the_guardrails_are_bound(repo: Repo) -> None:
    repo.write("pipelines.yaml", SERVICE_ACCOUNT_TEAM.replace("NAMESPACE", "ci"))
    repo.write("environments/staging.yaml", staging("access:\n  - {team: pipelines, role: edit}"))
    allowed = Guardrails(service_account_namespaces=frozenset({"ci"}), source="guardrails.yaml")
    landscape = load_landscape(repo.root, allowed)
    accounts = landscape.teams["pipelines"].service_accounts
    assert [(a.namespace, a.name) for a in accounts] == [("ml-staging", "runner"), ("ci", "deployer")]


def test_a_service_account_of_one_target_is_refused_on_a_target_with_another_namespace(repo: Repo) -> None:
    repo.write("pipelines.yaml", SERVICE_ACCOUNT_TEAM.replace("NAMESPACE", "ml-staging"))
    repo.write("environments/staging.yaml", staging("access:\n  - {team: pipelines, role: view}").replace(
        "    - {cluster: shared, namespace: ml-staging}\n",
        "    - {cluster: shared, namespace: ml-staging}\n    - {cluster: gpu, namespace: ml-stage}\n"))
    errors = repo.errors()
    assert len(errors) == 2 and all(e.startswith("environments/staging.yaml:10: spec.access[0].team: team "
                                                 "'pipelines' names service account ml-staging/") for e in errors)
    assert "outside the namespace of environment 'staging' (ml-stage, ml-staging)" in errors[0]


@pytest.mark.parametrize(("key", "why"), [
    ("kubernetes.io/metadata.name", "uses the prefix 'kubernetes.io/', reserved for Kubernetes"),
    ("k8s.io/anything", "uses the prefix 'k8s.io/', reserved for Kubernetes"),
    ("topology.kubernetes.io/zone", "uses the prefix 'topology.kubernetes.io/', reserved for Kubernetes"),
    ("node.k8s.io/pool", "uses the prefix 'node.k8s.io/', reserved for Kubernetes"),
    ("pod-security.kubernetes.io/enforce", "is the namespace's Pod Security level, which git sets only through "
                                           "`podSecurity: restricted|baseline|privileged`; set that instead"),
    ("app.kubernetes.io/managed-by", "is set by the reconciler itself; choose another key"),
    ("reconciler/platform", "is set by the reconciler itself; choose another key"),
])
def test_reserved_label_keys_are_refused(repo: Repo, key: str, why: str) -> None:
    repo.write("environments/staging.yaml", staging(f"labels:\n  {key}: privileged"))
    error = repo.only_error()
    assert error.startswith(f"environments/staging.yaml:9: spec.labels.{key}: this label {why}"), error


@pytest.mark.parametrize("key", ["Pod-Security.Kubernetes.IO/enforce", "kubernetes.io./metadata.name",
                                 "sub.k8s.io./x", "App.Kubernetes.io/managed-by", "reconciler./environment"])
def test_other_spellings_of_reserved_prefixes_are_refused_as_keys_kubernetes_would_refuse(repo: Repo, key: str) -> None:
    repo.write("environments/staging.yaml", staging(f"labels:\n  {key}: privileged"))
    assert repo.only_error().startswith(f"environments/staging.yaml:9: spec.labels.{key}: {key!r} is not a valid "
                                        "label key")


def test_reserved_labels_in_a_profile_are_refused_at_the_profile(repo: Repo) -> None:
    profiles = repo.root / "profiles.yaml"
    profiles.write_text(profiles.read_text().replace("  network: isolated\n", "  network: isolated\n  labels:\n"
                                                     "    example.com/team: ml\n"
                                                     "    pod-security.kubernetes.io/warn: privileged\n"))
    assert repo.only_error().startswith("profiles.yaml:11: spec.labels.pod-security.kubernetes.io/warn: this label "
                                        "is the namespace's Pod Security level")


def test_privileged_pod_security_needs_the_guardrails(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("podSecurity: privileged"))
    assert repo.only_error() == (
        "environments/staging.yaml:8: spec.podSecurity: Pod Security level 'privileged' is not allowed by the "
        "installation's guardrails (built-in defaults: baseline, restricted); set podSecurity to one of those, or "
        "ask the installation's owner to allow it")
    allowed = Guardrails(pod_security_levels=frozenset({"privileged", "baseline", "restricted"}))
    assert load_landscape(repo.root, allowed).environments["staging"].pod_security == "privileged"


def test_pod_security_merges_from_profiles_and_is_checked_where_it_is_written(repo: Repo) -> None:
    profiles = repo.root / "profiles.yaml"
    profiles.write_text(profiles.read_text().replace("  network: isolated\n",
                                                     "  network: isolated\n  podSecurity: baseline\n"))
    repo.write("environments/staging.yaml", staging("podSecurity: restricted"))
    landscape = repo.landscape()
    assert (landscape.environments["dev"].pod_security, landscape.environments["staging"].pod_security) == (
        "baseline", "restricted")
    only_restricted = Guardrails(pod_security_levels=frozenset({"restricted"}), source="guardrails.yaml")
    with pytest.raises(Exception) as raised:
        load_landscape(repo.root, only_restricted)
    assert str(raised.value) == (
        "profiles.yaml:9: spec.podSecurity: Pod Security level 'baseline' is not allowed by the installation's "
        "guardrails (guardrails.yaml: restricted); set podSecurity to one of those, or ask the installation's owner "
        "to allow it")


def test_the_default_pod_security_level_must_be_allowed_too(repo: Repo) -> None:
    only_restricted = Guardrails(pod_security_levels=frozenset({"restricted"}), source="guardrails.yaml")
    with pytest.raises(Exception) as raised:
        load_landscape(repo.root, only_restricted)
    assert str(raised.value) == (
        "environments/dev.yaml:1: spec.podSecurity: Pod Security level 'baseline' (the default) is not allowed by "
        "the installation's guardrails (guardrails.yaml: restricted); set podSecurity to one of those, or ask the "
        "installation's owner to allow it")


def test_take_over_names_previous_owners_and_is_not_inherited(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("takeOver:\n  - {environment: stage}\n"
                                                    "  - {environment: staging, platform: legacy}"))
    landscape = repo.landscape()
    assert [(o.environment, o.platform) for o in landscape.environments["staging"].take_over] == [
        ("stage", "test-platform"), ("staging", "legacy")]
    repo.write("environments/qa.yaml", staging("network: open").replace("name: staging", "name: qa").replace(
        "namespace: ml-staging", "namespace: ml-qa").replace("extends: [standard]", "extends: [standard, staging]"))
    assert repo.landscape().environments["qa"].take_over == ()


def test_take_over_of_the_environment_itself_is_refused(repo: Repo) -> None:
    repo.write("environments/staging.yaml", staging("takeOver:\n  - {environment: staging, platform: legacy}\n"
                                                    "  - {environment: staging}"))
    assert repo.only_error() == (
        "environments/staging.yaml:10: spec.takeOver[1]: names environment 'staging' of Platform 'test-platform', "
        "this environment itself; name the previous owner (the old name after a rename, the other environment or "
        "Platform after a move)")
