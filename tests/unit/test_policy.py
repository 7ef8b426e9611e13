"""Risk rules: one test (or more) per rule, each on a real git repository changed by one commit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.plan.revisions import InvalidRevision
from reconciler.policy import risk
from reconciler.policy.findings import DEFAULT_SEVERITY, SEVERITIES, Finding
from tests.unit.gitrepo import GitRepo, rules


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "envs")


def _only(found: dict[str, list[Finding]], rule: str) -> Finding:
    assert rule in found, f"no {rule} finding; found {sorted(found)}"
    assert len(found[rule]) == 1, found[rule]
    return found[rule][0]


def _set_risk(git_repo: GitRepo, risk: str) -> None:
    git_repo.replace("platform.yaml", "  massDeletePercent: 25\n", f"  massDeletePercent: 25\n{risk}")


# -- protected environments -----------------------------------------------------------------------------------------

def test_protected_changed_when_a_protected_environment_changes(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 16, cpu: \"32\"}")
    git_repo.commit("more cpu for prod")
    finding = _only(rules(git_repo.diff()), "protected-changed")
    assert (finding.severity, finding.environment) == ("warn", "prod")
    assert "gpu/ml-prod, shared/ml-prod" in finding.reason and "owner of prod" in finding.reason


def test_protected_changed_when_the_protected_flag_is_dropped(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "  protected: true\n", "")
    git_repo.commit("unprotect prod")
    result = git_repo.diff()
    finding = _only(rules(result), "protected-changed")
    assert "no longer protected" in finding.reason
    assert [e.name for e in result.environments] == ["prod"]  # no object changes, but a finding to see


def test_no_protected_finding_for_an_unprotected_environment(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "role: edit", "role: view")
    git_repo.commit("dev: research only views")
    assert "protected-changed" not in rules(git_repo.diff())


def test_protected_removed_is_refused(git_repo: GitRepo) -> None:
    git_repo.remove("environments/prod.yaml")
    git_repo.commit("remove prod")
    result = git_repo.diff()
    finding = _only(rules(result), "protected-removed")
    assert finding.severity == "block" and result.exit_code == 3
    assert "protected: false" in finding.reason
    assert "environment-removed" not in rules(result)


def test_protected_removed_with_its_flag_dropped_in_the_same_change(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "  protected: true\n", "")
    git_repo.commit("unprotect prod")
    git_repo.remove("environments/prod.yaml")
    git_repo.commit("remove prod")
    result = git_repo.diff(base="HEAD~2")
    assert _only(rules(result), "protected-removed").blocks


def test_protected_removed_cannot_be_relaxed_by_the_platform(git_repo: GitRepo) -> None:
    _set_risk(git_repo, "  risk:\n    rules: {protected-removed: info}\n")
    git_repo.commit("relax")
    git_repo.remove("environments/prod.yaml")
    git_repo.commit("remove prod")
    assert _only(rules(git_repo.diff()), "protected-removed").severity == "block"


# -- removals -------------------------------------------------------------------------------------------------------

def test_environment_removed_orphans_its_namespaces(git_repo: GitRepo) -> None:
    git_repo.remove("environments/staging.yaml")
    git_repo.commit("retire staging")
    result = git_repo.diff()
    finding = _only(rules(result), "environment-removed")
    assert (finding.severity, finding.environment) == ("warn", "staging")
    assert "shared/ml-staging" in finding.reason and "onRemove: orphan" in finding.reason
    assert "mass-deletion" not in rules(result)  # orphaned objects stay in place
    assert result.exit_code == 0


def test_environment_removed_with_on_remove_delete_is_its_own_allowance(git_repo: GitRepo) -> None:
    git_repo.replace("environments/staging.yaml", "  extends: [standard]\n", "  extends: [standard]\n"
                     "  onRemove: delete\n")
    git_repo.commit("staging may be deleted")
    git_repo.remove("environments/staging.yaml")
    git_repo.commit("retire staging")
    found = rules(git_repo.diff())
    assert "DELETED" in _only(found, "environment-removed").reason
    assert "mass-deletion" not in found  # it asked for its deletion: the guard's explicit allowance


def test_namespace_removed_when_a_target_is_dropped(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "    - {cluster: shared, namespace: ml-prod}\n", "")
    git_repo.commit("prod only on the gpu cluster")
    finding = _only(rules(git_repo.diff()), "namespace-removed")
    assert (finding.environment, finding.target) == ("prod", "shared/ml-prod")
    assert "left in place" in finding.reason


def test_agent_removed(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "  access:\n", "  agent: {enabled: false}\n  access:\n")
    git_repo.commit("no agent in dev")
    found = rules(git_repo.diff())
    finding = _only(found, "agent-removed")
    assert finding.environment == "dev" and "Drain its queues" in finding.reason


# -- quotas ---------------------------------------------------------------------------------------------------------

def test_quota_lowered(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("halve prod gpus")
    finding = _only(rules(git_repo.diff()), "quota-lowered")
    assert finding.severity == "warn" and "requests.nvidia.com/gpu 16 -> 8" in finding.reason


def test_quota_raised_or_rewritten_is_not_lowered(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 32, memory: 32768Mi}")
    git_repo.commit("more gpus, memory written in Mi")
    assert "quota-lowered" not in rules(git_repo.diff())


def test_quota_below_usage_blocks_with_live_usage(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("halve prod gpus")
    usage = {"gpu/ml-prod": {"requests.nvidia.com/gpu": "12", "requests.cpu": "7"},
             "shared/ml-prod": {"requests.nvidia.com/gpu": "2"}}
    result = git_repo.diff(usage=usage)
    finding = _only(rules(result), "quota-below-usage")
    assert (finding.severity, finding.target) == ("block", "gpu/ml-prod")
    assert "requests.nvidia.com/gpu 8 < 12 in use" in finding.reason
    assert result.exit_code == 3 and result.live_usage


def test_quota_below_usage_needs_live_data(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("halve prod gpus")
    assert "quota-below-usage" not in rules(git_repo.diff())
    assert "quota-below-usage" not in rules(git_repo.diff(usage={"gpu/ml-prod": {"requests.nvidia.com/gpu": "4"}}))


# -- access ---------------------------------------------------------------------------------------------------------

def test_access_widened_by_a_new_binding(git_repo: GitRepo) -> None:
    git_repo.replace("environments/staging.yaml", "ml-staging}\n", "ml-staging}\n  access:\n"
                     "    - {team: vision, role: view}\n")
    git_repo.commit("vision may look at staging")
    found = rules(git_repo.diff())
    finding = _only(found, "access-widened")
    assert finding.environment == "staging"
    assert "team vision gets view (new): group oidc:vision" in finding.reason
    assert "access-granted-in-prod" not in found


def test_access_widened_by_a_new_environment(git_repo: GitRepo) -> None:
    git_repo.write("environments/qa.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: qa}
        spec:
          extends: [standard]
          targets: [{cluster: shared, namespace: ml-qa}]
        """)
    git_repo.commit("a qa environment")
    finding = _only(rules(git_repo.diff()), "access-widened")
    assert finding.reason.startswith("new environment qa grants access: team research gets view (new)")


def test_access_widened_by_a_raised_role(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "role: edit", "role: admin")
    git_repo.commit("research administers dev")
    finding = _only(rules(git_repo.diff()), "access-widened")
    assert "team research gets admin (was edit): group oidc:research, user alice@example.com" in finding.reason


def test_access_widened_by_a_new_team_member_in_every_environment_of_the_team(git_repo: GitRepo) -> None:
    git_repo.replace("teams.yaml", "users: [alice@example.com]", "users: [alice@example.com, dave@example.com]")
    git_repo.commit("dave joins research")
    found = rules(git_repo.diff())
    assert sorted(f.environment for f in found["access-widened"]) == ["dev", "prod", "staging"]
    assert all("user dave@example.com" in f.reason for f in found["access-widened"])


def test_access_narrowed_is_not_widened(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "role: edit", "role: view")
    git_repo.commit("research only views dev")
    assert "access-widened" not in rules(git_repo.diff())


def test_access_granted_in_prod(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 16}\n  access:\n"
                     "    - {team: research, role: edit}\n")
    git_repo.commit("research edits prod")
    found = rules(git_repo.diff())
    assert _only(found, "access-widened").environment == "prod"
    finding = _only(found, "access-granted-in-prod")
    assert finding.severity == "warn" and "approval of the owners of prod" in finding.reason


def test_access_granted_in_a_protected_environment_not_named_prod(git_repo: GitRepo) -> None:
    git_repo.replace("environments/staging.yaml", "  extends: [standard]\n",
                     "  extends: [standard]\n  protected: true\n")
    git_repo.commit("protect staging")
    git_repo.replace("environments/staging.yaml", "ml-staging}\n", "ml-staging}\n  access:\n"
                     "    - {team: vision, role: edit}\n")
    git_repo.commit("vision edits staging")
    assert "staging is a protected environment" in _only(rules(git_repo.diff()), "access-granted-in-prod").reason


def test_role_not_allowed_checks_head_bindings_against_the_head_allow_list(git_repo: GitRepo) -> None:
    # Validation refuses such a binding before diff runs; the rule is the policy's own check of the head model.
    base = load_landscape(git_repo.root)
    head = dataclasses.replace(base, platform=dataclasses.replace(base.platform,
                                                                  allowed_cluster_roles=("view",)))
    found = {f.rule: f for f in risk.assess(base, head, [])}
    assert found["role-not-allowed"].severity == "block"
    assert "ClusterRole edit" in found["role-not-allowed"].reason
    assert "no longer allows admin, edit" in found["allowed-roles-changed"].reason


def test_allowed_roles_beyond_the_guardrails_make_the_revision_invalid(git_repo: GitRepo) -> None:
    git_repo.replace("platform.yaml", "[view, edit, admin]", "[view, edit, admin, cluster-admin]")
    git_repo.commit("allow cluster-admin")
    with pytest.raises(InvalidRevision) as raised:
        git_repo.diff()
    assert "platform.yaml:5: spec.allowedClusterRoles[3]: ClusterRole 'cluster-admin' is not allowed by the " \
        "installation's guardrails (built-in defaults: admin, edit, view)" in str(raised.value)


def test_allowed_roles_narrowed(git_repo: GitRepo) -> None:
    git_repo.replace("platform.yaml", "[view, edit, admin]", "[view, edit]")
    git_repo.commit("no more admin")
    result = git_repo.diff()
    finding = _only(rules(result), "allowed-roles-changed")
    assert finding.environment == ""
    assert "no longer allows admin" in finding.reason
    assert finding.severity == "block" and result.exit_code == 3, "the allow-list is reviewed before merge"


def test_a_relaxed_risk_policy_blocks_the_pull_request_that_relaxes_it(git_repo: GitRepo) -> None:
    _set_risk(git_repo, "  risk:\n    rules: {quota-below-usage: warn, risk-policy-changed: warn}\n")
    git_repo.commit("relax the rules that judge policy changes")
    result = git_repo.diff()
    finding = _only(rules(result), "risk-policy-changed")
    assert finding.severity == "block" and result.exit_code == 3


# -- agents ---------------------------------------------------------------------------------------------------------

def test_agent_image_changed(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "  access:\n", "  agent: {image: polyaxon/polyaxon-agent:2.16.0}\n"
                     "  access:\n")
    git_repo.commit("try the new agent in dev")
    finding = _only(rules(git_repo.diff()), "agent-image-changed")
    assert finding.environment == "dev"
    assert "polyaxon/polyaxon-agent:2.15.1 to polyaxon/polyaxon-agent:2.16.0" in finding.reason


# -- mass deletion --------------------------------------------------------------------------------------------------

def test_mass_deletion_over_the_platform_share(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "  access:\n", "  agent: {enabled: false}\n  access:\n")
    git_repo.commit("no agent in dev")
    result = git_repo.diff()
    finding = _only(rules(result), "mass-deletion")
    assert (finding.severity, finding.target) == ("block", "shared/ml-dev")
    assert "deletes 4 of the 9 objects" in finding.reason and "--allow-mass-delete" in finding.reason
    assert result.exit_code == 3


def test_mass_deletion_under_the_platform_share(git_repo: GitRepo) -> None:
    git_repo.replace("platform.yaml", "massDeletePercent: 25", "massDeletePercent: 60")
    git_repo.commit("allow larger deletions")
    git_repo.replace("environments/dev.yaml", "  access:\n", "  agent: {enabled: false}\n  access:\n")
    git_repo.commit("no agent in dev")
    assert "mass-deletion" not in rules(git_repo.diff())


# -- severities -----------------------------------------------------------------------------------------------------

def test_severity_set_globally_and_per_environment(git_repo: GitRepo) -> None:
    _set_risk(git_repo, "  risk:\n    rules: {quota-lowered: info}\n    environments:\n"
              "      prod: {quota-lowered: block}\n")
    git_repo.commit("quota policy")
    git_repo.replace("profiles/standard.yaml", "gpu: 1}", "gpu: 0}")
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("fewer gpus everywhere")
    found = rules(git_repo.diff())
    levels = {f.environment: f.severity for f in found["quota-lowered"]}
    assert levels == {"dev": "info", "staging": "info", "prod": "block"}


def test_a_change_is_judged_by_the_stricter_of_its_base_and_head_settings(git_repo: GitRepo) -> None:
    _set_risk(git_repo, "  risk:\n    rules: {quota-lowered: info}\n")
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("relax the rule and lower the quota at once")
    found = rules(git_repo.diff())
    assert _only(found, "quota-lowered").severity == "warn"
    assert "stricter of the old and new" in _only(found, "risk-policy-changed").reason


def test_a_tightened_rule_applies_to_the_change_that_tightens_it(git_repo: GitRepo) -> None:
    _set_risk(git_repo, "  risk:\n    rules: {quota-lowered: block}\n")
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("tighten and lower")
    assert _only(rules(git_repo.diff()), "quota-lowered").blocks


def test_unknown_risk_rule_names_are_reported(git_repo: GitRepo) -> None:
    _set_risk(git_repo, "  risk:\n    environments:\n      prod: {quota-lowerd: block}\n")
    git_repo.commit("typo")
    finding = _only(rules(git_repo.diff()), "unknown-risk-rule")
    assert "risk.environments.prod names 'quota-lowerd'" in finding.reason


def test_every_rule_has_a_default_severity_and_a_documented_id() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "change-control.md").read_text(encoding="utf-8")
    for rule, level in DEFAULT_SEVERITY.items():
        assert level in SEVERITIES
        assert f"`{rule}`" in doc, f"{rule} is not documented in docs/change-control.md"


@pytest.mark.parametrize("owner", ["{environment: staging}", "{environment: dev, platform: research-platform}"])
def test_a_new_take_over_blocks_the_pull_request(git_repo: GitRepo, owner: str) -> None:
    git_repo.replace("environments/dev.yaml", "  targets:\n", f"  takeOver: [{owner}]\n  targets:\n")
    git_repo.commit("dev takes over another environment's objects")
    result = git_repo.diff()
    finding = _only(rules(result), "take-over-added")
    assert (finding.severity, finding.environment) == ("block", "dev") and result.exit_code == 3
    assert "dev takes over the objects of environment" in finding.reason and "(takeOver)" in finding.reason
