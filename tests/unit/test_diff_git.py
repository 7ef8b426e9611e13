"""`reconciler diff` on real git repositories: what a change does to each environment, read from git only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.plan import revisions
from reconciler.render import render_landscape
from reconciler.report import diff as report_diff
from tests.unit.gitrepo import LANDSCAPE, GitRepo, rules


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "envs")


def test_the_empty_diff(git_repo: GitRepo) -> None:
    git_repo.write("README.md", "# environments\n")
    git_repo.commit("a readme changes no environment")
    result = git_repo.diff()
    assert (result.environments, result.findings, result.unchanged) == ([], [], 3)
    run = git_repo.cli("--base", "HEAD~1")
    assert run.code == 0
    assert "no environment changes." in run.out and "3 environments unchanged." in run.out
    assert "nothing blocks this change" in run.out


def test_the_same_revision_twice(git_repo: GitRepo) -> None:
    assert git_repo.cli("--base", "HEAD", "--head", "HEAD").code == 0


def test_a_renamed_file_with_the_same_content_changes_nothing(git_repo: GitRepo) -> None:
    git_repo.git("mv", "environments/dev.yaml", "environments/development.yaml")
    git_repo.git("mv", "profiles", "shared-profiles")
    git_repo.commit("reorganise files")
    result = git_repo.diff()
    assert result.environments == [] and result.findings == []


def test_moved_lines_and_rewritten_quantities_change_nothing(git_repo: GitRepo) -> None:
    git_repo.replace("profiles/standard.yaml", 'quota: {cpu: "8", memory: 32Gi, gpu: 1}',
                     '# more comments\n  quota: {cpu: 8000m, memory: 32768Mi, gpu: 1}')
    git_repo.commit("same values, other spelling")
    assert git_repo.diff().environments == []


def test_a_profile_change_fans_out_to_every_environment_that_extends_it(git_repo: GitRepo) -> None:
    git_repo.replace("profiles/standard.yaml", "defaultRequest: {cpu: 250m", "defaultRequest: {cpu: 300m")
    git_repo.commit("larger default requests for everyone")
    result = git_repo.diff()
    assert [e.name for e in result.environments] == ["dev", "prod", "staging"]
    summaries = {e.name: e.summary() for e in result.environments}
    field = "LimitRange limits[0].defaultRequest.cpu 250m -> 300m"
    assert summaries["dev"] == f"dev: 1 changed ({field})"
    assert summaries["prod"] == f"prod: 2 changed in 2 targets ({field})"
    prod = next(e for e in result.environments if e.name == "prod")
    assert [t.key for t in prod.targets] == ["gpu/ml-prod", "shared/ml-prod"]
    text = git_repo.cli("--base", "HEAD~1").out
    assert "        spec.limits[0].defaultRequest.cpu: 250m -> 300m" in text


def test_summary_names_the_quota_change(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("halve prod gpus")
    [prod] = git_repo.diff().environments
    assert prod.summary() == "prod: 2 changed in 2 targets (ResourceQuota requests.nvidia.com/gpu 16 -> 8)"


def test_added_and_removed_objects_and_environments(git_repo: GitRepo) -> None:
    git_repo.write("environments/qa.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: qa}
        spec:
          extends: [standard]
          targets: [{cluster: shared, namespace: ml-qa}]
        """)
    git_repo.remove("environments/staging.yaml")
    git_repo.replace("environments/dev.yaml", "role: edit}", "role: edit}\n    - {team: vision, role: view}")
    git_repo.commit("qa replaces staging; vision sees dev")
    result = git_repo.diff()
    by_name = {e.name: e for e in result.environments}
    assert {n: e.status for n, e in by_name.items()} == {"dev": "changed", "qa": "added", "staging": "removed"}
    assert by_name["dev"].summary() == "dev: 1 added (+RoleBinding access-team-vision-view)"
    assert by_name["qa"].count("added") == 9 and by_name["qa"].targets[0].status == "added"
    removed = by_name["staging"].targets[0]
    assert removed.status == "removed" and removed.changes[0].ref.kind == "Deployment"  # reverse apply order
    assert by_name["staging"].summary().startswith("staging: environment removed, 9 removed (-Deployment ml-agent")


def test_an_invalid_head_prints_its_errors_with_file_and_line(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: many}")
    git_repo.commit("broken")
    run = git_repo.cli("--base", "HEAD~1")
    assert run.code == 1 and run.out == ""
    assert "environments/prod.yaml:" in run.err and "quota.gpu" in run.err
    assert "the head revision HEAD" in run.err


def test_an_invalid_base_is_compared_as_an_empty_repository(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: many}")
    git_repo.commit("broken")
    git_repo.replace("environments/prod.yaml", "quota: {gpu: many}", "quota: {gpu: 16}")
    git_repo.commit("fixed")
    result = git_repo.diff()
    assert "the base revision HEAD~1" in result.notes[0] and "environments/prod.yaml:" in result.notes[0]
    assert {e.status for e in result.environments} == {"added"}


def test_an_unknown_revision_is_an_error(git_repo: GitRepo) -> None:
    run = git_repo.cli("--base", "origin/main")
    assert run.code == 1
    assert "revision 'origin/main' is not a commit" in run.err and "git fetch" in run.err


def test_not_a_git_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    repo = GitRepo(folder, folder)
    run = repo.cli("--base", "main")
    assert run.code == 1 and "not inside a git repository" in run.err


def test_the_work_tree_is_neither_read_nor_touched(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("halve prod gpus")
    git_repo.replace("environments/dev.yaml", "role: edit", "role: admin")  # not committed
    git_repo.write("environments/broken.yaml", "kind: [")
    status = git_repo.git("status", "--porcelain")
    head = git_repo.git("rev-parse", "HEAD")
    result = git_repo.diff()
    assert [e.name for e in result.environments] == ["prod"]
    assert git_repo.git("status", "--porcelain") == status and git_repo.git("rev-parse", "HEAD") == head


def test_an_environments_folder_inside_a_larger_repository(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "monorepo", folder="deploy/envs")
    repo.write("../../README.md", "# a bigger project\n")
    repo.write("../other.yaml", "kind: [not read")
    repo.commit("unrelated files around the environments folder")
    repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    repo.commit("halve prod gpus")
    assert [e.name for e in repo.diff(base="HEAD~2").environments] == ["prod"]


def test_a_folder_that_did_not_exist_at_the_base(tmp_path: Path) -> None:
    top = tmp_path / "monorepo"
    top.mkdir()
    repo = GitRepo(top, top / "envs")
    repo.git("init", "-q", "-b", "main")
    repo.write("../README.md", "# empty\n")
    repo.commit("start")
    for relative, text in LANDSCAPE.items():
        repo.write(relative, text)
    repo.commit("the environments arrive")
    result = repo.diff()
    assert "does not exist at the base revision" in result.notes[0]
    assert [e.status for e in result.environments] == ["added"] * 3


def test_files_are_read_by_the_loaders_rules(git_repo: GitRepo) -> None:
    git_repo.write(".github/workflow.yaml", "on: [push]\njobs: {}\n")  # hidden folder: not read
    git_repo.write("notes.txt", "kind: [")  # not YAML by name
    git_repo.write("big.yaml", "# " + "x" * (1024 * 1024) + "\n")
    (git_repo.root / "elsewhere.yaml").symlink_to("/etc/hostname")
    (git_repo.root / "alias.yml").symlink_to("environments/dev.yaml")
    git_repo.commit("odd files")
    run = git_repo.cli("--base", "HEAD~1")
    assert run.code == 1
    assert "big.yaml:1: file is 1048579 bytes, over the 1048576 byte limit" in run.err
    assert "elsewhere.yaml:1: symlink points outside the repository" in run.err
    assert "alias.yml:" in run.err and "duplicate Environment 'dev'" in run.err  # the link is read as its target
    assert ".github" not in run.err and "notes.txt" not in run.err


def test_json_output(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.commit("halve prod gpus")
    run = git_repo.cli("--base", "HEAD~1", "-o", "json")
    document = json.loads(run.out)
    assert document["exitCode"] == run.code == 0 and document["blocked"] is False
    assert document["head"]["commit"] == git_repo.git("rev-parse", "HEAD")
    [prod] = document["environments"]
    change = prod["targets"][0]["changes"][0]
    assert change == {"action": "changed", "kind": "ResourceQuota", "namespace": "ml-prod",
                      "name": "environment-quota",
                      "fields": [{"path": "spec.hard.requests.nvidia.com/gpu", "before": "16", "after": "8"}]}
    assert {f["rule"] for f in document["findings"]} == {"protected-changed", "quota-lowered"}


def test_markdown_lists_risky_environments_first(git_repo: GitRepo) -> None:
    git_repo.replace("environments/dev.yaml", "role: edit", "role: view")
    git_repo.remove("environments/prod.yaml")
    git_repo.commit("dev narrowed, prod removed")
    markdown = git_repo.cli("--base", "HEAD~1", "-o", "markdown").out
    table = [line for line in markdown.splitlines() if line.startswith("| **")]
    assert table[0].startswith("| **prod** (protected) | removed |") and table[1].startswith("| **dev** |")
    assert markdown.index("<details><summary>prod") < markdown.index("<details><summary>dev")
    assert "⛔ protected-removed" in table[0]


def test_markdown_stays_within_a_pull_request_comment(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_diff, "MAX_MARKDOWN", 800)
    git_repo.replace("profiles/standard.yaml", "defaultRequest: {cpu: 250m", "defaultRequest: {cpu: 300m")
    git_repo.commit("larger default requests for everyone")
    markdown = report_diff.markdown(git_repo.diff())
    assert len(markdown) <= 800 and "more environments not shown here" in markdown
    assert markdown.count("<details>") < 3


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.cli import main as cli

    with pytest.raises(SystemExit):
        cli.main(["diff", "--help"])
    out = capsys.readouterr().out
    assert "exit codes: 0 nothing blocks" in out and "3 a finding blocks the change" in out


def test_live_quota_usage_from_api_objects() -> None:
    quotas = [
        {"metadata": {"name": "environment-quota", "namespace": "ml-prod"},
         "status": {"used": {"requests.nvidia.com/gpu": "12", "pods": 40}}},
        {"metadata": {"name": "someone-elses", "namespace": "ml-prod"}, "status": {"used": {"pods": "1"}}},
        {"metadata": {"name": "environment-quota", "namespace": "ml-new"}},
    ]
    assert revisions.usage_from_quotas("gpu", quotas) == {
        "gpu/ml-prod": {"requests.nvidia.com/gpu": "12", "pods": "40"}, "gpu/ml-new": {}}


@pytest.mark.parametrize("change", [
    ("teams.yaml", "users: [alice@example.com]", "users: [bob@example.com]"),
    ("platform.yaml", "namespace: polyaxon", "namespace: ml-control"),
    ("clusters.yaml", "pool: cpu}}\n---", "pool: cpu-v2}}\n---"),
    ("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 16}\n  labels: {tier: gold}"),
])
def test_environments_skipped_as_unchanged_render_the_same(git_repo: GitRepo, tmp_path: Path,
                                                          change: tuple[str, str, str]) -> None:
    """The diff renders only targets whose inputs changed; a full render of both revisions must agree."""
    before = render_landscape(load_landscape(git_repo.root))
    git_repo.replace(*change)
    git_repo.commit("one change")
    after = render_landscape(load_landscape(git_repo.root))
    differing = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    reported = {t.key for e in git_repo.diff().environments for t in e.targets}
    assert differing and reported == differing


def test_rules_reported_for_a_mixed_change(git_repo: GitRepo) -> None:
    git_repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 8}")
    git_repo.replace("environments/dev.yaml", "role: edit", "role: admin")
    git_repo.commit("mixed")
    assert set(rules(git_repo.diff())) == {"protected-changed", "quota-lowered", "access-widened"}



def test_the_agents_json_settings_are_compared_field_by_field(git_repo: GitRepo) -> None:
    git_repo.replace("clusters.yaml", "pool: cpu}}\n---", "pool: cpu-v2}}\n---")
    git_repo.commit("the shared cluster's CPU nodes are relabelled")
    text = git_repo.cli("--base", "HEAD~1").out
    assert "data.POLYAXON_AGENT_DEFAULT_SCHEDULING.nodeSelector.pool: cpu -> cpu-v2" in text
