"""The access matrix from git, who gains or loses what between two revisions, and how live answers are judged."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from reconciler import config
from reconciler.cli import main as cli
from reconciler.config.model import Access, Landscape, ServiceAccountRef
from reconciler.policy import access
from reconciler.policy.access import Subject
from reconciler.report import access as report_access
from reconciler.report import access_live
from reconciler.report.access_live import CHECKS, Cell, LiveAccess, identity_of, rules_allow

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"


@pytest.fixture(scope="module")
def sample() -> Landscape:
    return config.load_landscape(SAMPLE)


def _with_access(landscape: Landscape, environment: str, *entries: Access) -> Landscape:
    """``landscape`` with ``environment``'s access replaced by ``entries`` (in every target of it)."""
    changed = dataclasses.replace(landscape.environments[environment], access=entries)
    targets = tuple(dataclasses.replace(t, environment=changed) if t.environment.name == environment else t
                    for t in landscape.targets)
    return dataclasses.replace(landscape, environments={**landscape.environments, environment: changed},
                               targets=targets)


def _with_team_service_account(landscape: Landscape, team: str, namespace: str, name: str) -> Landscape:
    changed = dataclasses.replace(landscape.teams[team], service_accounts=(ServiceAccountRef(namespace, name),))
    return dataclasses.replace(landscape, teams={**landscape.teams, team: changed})


def test_the_matrix_expands_each_team_to_its_groups_users_and_service_accounts(sample: Landscape) -> None:
    sample = _with_team_service_account(sample, "platform", "polyaxon", "polyaxon-operator")
    found = access.grants(sample)
    assert access.matrix(found) == {
        "team platform": {"dev": ("admin",), "staging": ("admin",), "prod": ("admin",)},
        "team research": {"dev": ("edit",), "staging": ("view",), "prod": ("view",)},
        "team vision": {"dev": ("edit",), "staging": ("edit",), "prod": ("view",)},
    }
    assert [str(s) for s in access.members(sample, found)["team platform"]] == [
        "group oidc:platform", "user carol@example.com", "serviceaccount polyaxon/polyaxon-operator"]


def test_a_user_granted_directly_is_a_row_of_its_own(sample: Landscape) -> None:
    changed = _with_access(sample, "prod", Access("team", "vision", "view"), Access("user", "dave@example.com", "edit"))
    matrix = access.matrix(access.grants(changed))
    assert matrix["user dave@example.com"] == {"prod": ("edit",)}
    assert list(matrix)[-1] == "user dave@example.com"  # teams first, then users


def test_changes_name_every_member_who_gains_or_loses_a_role_and_where(sample: Landscape) -> None:
    sample = _with_team_service_account(sample, "platform", "polyaxon", "polyaxon-operator")
    after = _with_access(sample, "prod", Access("team", "vision", "edit"), Access("user", "dave@example.com", "view"))
    changes = {(str(c.subject), c.via, c.describe(), c.targets) for c in access.changes(sample, after)}
    assert changes == {
        ("group oidc:ml-vision", "team vision", "view -> edit", ("gpu/ml-prod",)),
        ("user bob@example.com", "team vision", "view -> edit", ("gpu/ml-prod",)),
        ("user dave@example.com", "user dave@example.com", "gains view", ("gpu/ml-prod",)),
        ("group oidc:ml-research", "team research", "loses view", ("gpu/ml-prod",)),
        ("user alice@example.com", "team research", "loses view", ("gpu/ml-prod",)),
        ("group oidc:platform", "team platform", "loses admin", ("gpu/ml-prod",)),
        ("user carol@example.com", "team platform", "loses admin", ("gpu/ml-prod",)),
        ("serviceaccount polyaxon/polyaxon-operator", "team platform", "loses admin", ("gpu/ml-prod",)),
    }


def test_a_new_team_member_gains_the_teams_roles_in_every_environment(sample: Landscape) -> None:
    vision = sample.teams["vision"]
    after = dataclasses.replace(sample, teams={**sample.teams, "vision": dataclasses.replace(
        vision, users=(*vision.users, "erin@example.com"))})
    changes = access.changes(sample, after)
    assert [(c.environment, c.describe()) for c in changes] == [("dev", "gains edit"), ("prod", "gains view"),
                                                                ("staging", "gains edit")]
    assert {str(c.subject) for c in changes} == {"user erin@example.com"}


def test_no_change_in_access_is_no_change(sample: Landscape) -> None:
    assert access.changes(sample, sample) == []


@pytest.mark.parametrize(("rules", "check", "allowed"), [
    ([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}], "get pods", True),
    ([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], "create pods", False),
    ([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], "create rolebindings", True),
    ([{"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["get"]}], "get pods", False),
    ([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["one"]}], "read secrets",
     False),
    ([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}], "get pods", False),
])
def test_role_rules_are_read_as_rbac_reads_them(rules: list[dict[str, list[str]]], check: str, allowed: bool) -> None:
    assert rules_allow(rules, next(c for c in CHECKS if c.label == check)) is allowed


def test_each_subject_is_asked_about_with_the_groups_its_requests_carry() -> None:
    assert identity_of(Subject("Group", "oidc:ml-vision")).groups == ("oidc:ml-vision", "system:authenticated")
    sa = identity_of(Subject("ServiceAccount", "polyaxon/polyaxon-operator"))
    assert sa.user == "system:serviceaccount:polyaxon:polyaxon-operator"
    assert "system:serviceaccounts:polyaxon" in sa.groups
    assert identity_of(Subject("User", "system:anonymous")).groups == ("system:unauthenticated",)


def _cell(expected: bool, allowed: bool, check: int = 0, reason: str = "") -> Cell:
    return Cell("gpu", "ml-prod", "prod", Subject("Group", "oidc:ml-vision"), "team vision", ("view",), CHECKS[check],
                expected, allowed, reason)


def test_disagreements_are_grouped_and_make_the_exit_code_3(sample: Landscape) -> None:
    hand = 'RBAC: allowed by RoleBinding "hand/ml-prod" of ClusterRole "edit" to Group "oidc:ml-vision"'
    live = LiveAccess([_cell(True, True), _cell(False, True, 1, hand), _cell(False, True, 2, hand)])
    report = dataclasses.replace(access_live.prove_access(sample, sample.targets, None), live=live)
    assert report.exit_code == 3
    assert live.findings() == [
        "cluster gpu namespace ml-prod (prod): group oidc:ml-vision may create pods, read secrets, which git does not "
        f"explain (git grants it only view); granted out of band: {hand}. Remove that grant, or declare the access "
        "in the environments repository"]
    assert "YES!" in report_access.text(report)
    agreeing = dataclasses.replace(report, live=LiveAccess([_cell(True, True), _cell(False, False, 1)]))
    assert agreeing.exit_code == 0
    assert json.loads(report_access.as_json(agreeing))["live"]["agrees"] is True


def test_the_access_command_needs_no_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["access", str(SAMPLE), "--env", "prod", "-o", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| **team vision** | view |" in out
    assert "- **team research**: group oidc:ml-research, user alice@example.com" in out


def test_an_unreachable_cluster_is_an_error_that_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    closed = {"shared": {"server": "https://127.0.0.1:2", "insecure-skip-tls-verify": True},
              "gpu": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "shared",
        "clusters": [{"name": name, "cluster": closed[name]} for name in ("shared", "gpu")],
        "users": [{"name": "admin", "user": {"token": "unused"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "admin"}} for name in ("shared", "gpu")],
    }))
    assert cli.main(["access", str(SAMPLE), "--kubeconfig", str(kubeconfig), "--cluster", "gpu"]) == 1
    out = capsys.readouterr().out
    assert "error: cluster gpu: get ClusterRole admin: cannot reach https://127.0.0.1:1" in out
    assert "1 cluster error(s): the check is incomplete (exit 1)" in out
