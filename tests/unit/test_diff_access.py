"""The access section of `reconciler diff`: who gains or loses which role, where, teams expanded to members."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.report import diff as report_diff
from tests.unit.gitrepo import GitRepo


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "envs")


def test_a_new_team_member_gains_the_teams_role_in_every_target(git_repo: GitRepo) -> None:
    git_repo.replace("teams.yaml", 'spec: {groups: ["oidc:vision"]}',
                     'spec: {groups: ["oidc:vision"], users: [dave@example.com]}')
    git_repo.replace("teams.yaml", "users: [alice@example.com]", "users: [alice@example.com, erin@example.com]")
    git_repo.commit("erin joins research, dave joins vision")
    result = git_repo.diff()
    text = report_diff.text(result)
    # vision has no access anywhere: dave gains nothing; erin gains research's role in each environment.
    assert "dave" not in text
    assert ("access:\n"
            "  dev shared/ml-dev: user erin@example.com (team research): gains edit\n"
            "  prod gpu/ml-prod, shared/ml-prod: user erin@example.com (team research): gains view\n"
            "  staging shared/ml-staging: user erin@example.com (team research): gains view\n") in text
    entries = json.loads(report_diff.as_json(result))["access"]
    assert {"subject": {"kind": "User", "name": "erin@example.com"}, "via": "team research", "environment": "prod",
            "before": [], "after": ["view"], "targets": ["gpu/ml-prod", "shared/ml-prod"]} in entries


def test_a_role_change_and_a_removed_grant_are_shown_for_every_member(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "- {team: research, role: edit}", "- {team: research, role: admin}")
    git_repo.replace("profiles/standard.yaml", "- {team: research, role: view}", "- {team: vision, role: view}")
    git_repo.commit("research administers dev; vision instead of research elsewhere")
    markdown = report_diff.markdown(git_repo.diff())
    assert "| dev | shared/ml-dev | group oidc:research, user alice@example.com | team research | edit -> admin |" \
        in markdown
    assert ("| staging | shared/ml-staging | group oidc:research, user alice@example.com | team research | "
            "loses view |") in markdown
    assert "| prod | gpu/ml-prod, shared/ml-prod | group oidc:vision | team vision | gains view |" in markdown


def test_a_change_that_touches_no_access_has_no_access_section(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("fewer GPUs")
    result = git_repo.diff()
    assert result.access_changes == []
    assert "access:" not in report_diff.text(result)
    assert "**Access**" not in report_diff.markdown(result)
