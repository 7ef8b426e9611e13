"""The controller's decisions without a cluster: durations, backoff, what a converge result means for /status and
Events, structured logs without secrets, and a bad revision that changes nothing."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.config.durations import parse_duration
from reconciler.controller import events, logs
from reconciler.controller.loop import Controller
from reconciler.controller.outcome import outcome_of
from reconciler.controller.schedule import backoff
from reconciler.controller.settings import Settings, read_secret
from reconciler.converge.results import ClusterResult, Entry, failure
from reconciler.errors import ReconcilerError
from reconciler.plan.changes import Change, FieldDiff, TargetPlan
from reconciler.plan.inventory import ObjectRef

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"
IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("500ms", 0.5), ("2", 2), ("0.5", 0.5), ("1m30s", 90),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "m"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"use e\.g\. 30s, 5m"):
        parse_duration(text)


def test_backoff_doubles_up_to_the_ceiling_with_jitter() -> None:
    for failures, base in ((1, 1), (2, 2), (3, 4), (4, 8), (10, 60)):
        for _ in range(20):
            assert 0.8 * base <= backoff(failures, 60) <= 1.2 * base


def test_secrets_come_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("ghp_abc\n")
    monkeypatch.setenv("RECONCILER_GIT_TOKEN", "from-env")
    assert read_secret(tmp_path / "token", "RECONCILER_GIT_TOKEN") == "ghp_abc"
    assert read_secret(None, "RECONCILER_GIT_TOKEN") == "from-env"
    with pytest.raises(ReconcilerError, match="cannot read the secret file"):
        read_secret(tmp_path / "missing", "RECONCILER_GIT_TOKEN")


def quota_update(namespace: str) -> Change:
    return Change("update", ObjectRef("ResourceQuota", namespace, "environment-quota"), desired={},
                  diffs=[FieldDiff("spec.hard.requests.nvidia.com/gpu", "1", "8")])


def test_a_converged_target_and_its_event() -> None:
    result = ClusterResult("gpu", targets=(TargetPlan("gpu", "ml-prod", "prod", changes=(quota_update("ml-prod"),)),),
                           entries=[Entry("update", "done", quota_update("ml-prod").ref, "ml-prod")], writes=1)
    outcome = outcome_of(result, "a" * 40, 0.5, drift=False)
    assert outcome.state == "converged" and outcome.applied == 1 and outcome.drift == 0
    assert outcome.targets["ml-prod"].revision == "a" * 40
    assert events.notices(result, "a" * 40, drift=False) == [events.Notice(
        "ml-prod", "Converged",
        "revision aaaaaaaaaaaa: updated ResourceQuota environment-quota (spec.hard.requests.nvidia.com/gpu: 1 -> 8)")]


def test_changes_on_a_resync_are_drift() -> None:
    result = ClusterResult("gpu", targets=(TargetPlan("gpu", "ml-prod", "prod", changes=(quota_update("ml-prod"),)),),
                           entries=[Entry("update", "done", quota_update("ml-prod").ref, "ml-prod")])
    assert outcome_of(result, "b" * 40, 0.5, drift=True).drift == 1
    [notice] = events.notices(result, "b" * 40, drift=True)
    assert notice.reason == "DriftCorrected"
    assert notice.message.startswith("undid changes made outside git (revision bbbbbbbbbbbb unchanged): updated")


def test_an_error_is_pinned_on_its_target_and_the_others_converged() -> None:
    error = ("cluster shared: apply ResourceQuota ml-dev/environment-quota: admission webhook denied the request "
             "(HTTP 400)")
    targets = (TargetPlan("shared", "ml-dev", "dev", changes=(quota_update("ml-dev"),)),
               TargetPlan("shared", "ml-staging", "staging"))
    result = ClusterResult("shared", targets=targets,
                           entries=[failure("update", error, quota_update("ml-dev").ref, "ml-dev")])
    outcome = outcome_of(result, "c" * 40, 1.0, drift=False)
    assert outcome.state == "failed"
    assert (outcome.targets["ml-dev"].state, outcome.targets["ml-dev"].last_error) == ("failed", error)
    assert outcome.targets["ml-staging"].state == "converged"
    [notice] = events.notices(result, "c" * 40, drift=False)
    assert (notice.namespace, notice.reason, notice.warning) == ("ml-dev", "ApplyFailed", True)


def test_refusals_are_reported_and_not_retried_as_failures() -> None:
    refused = TargetPlan("gpu", "ml-prod", "prod", refusals=("the plan deletes 8 of 12 objects (67% > 25%)",))
    outcome = outcome_of(ClusterResult("gpu", targets=(refused,)), "d" * 40, 0.1, drift=False)
    assert outcome.state == "refused" and outcome.targets["ml-prod"].state == "refused"
    [notice] = events.notices(ClusterResult("gpu", targets=(refused,)), "d" * 40, drift=False)
    assert notice.reason == "Refused" and "67% > 25%" in notice.message


@pytest.fixture
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("reconciler")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_carry_fields_and_never_a_secret() -> None:
    stream = io.StringIO()
    logs.setup("info", json_lines=True, stream=stream)
    logs.register_secret("ghp_supersecret")
    logging.getLogger("reconciler.test").warning(
        "cannot read the branch", extra={"error": "fatal: https://x:ghp_supersecret@github.com/o/r.git: 403",
                                         "cluster": "gpu"})
    line = json.loads(stream.getvalue())
    assert line["level"] == "warning" and line["cluster"] == "gpu" and line["message"] == "cannot read the branch"
    assert line["error"] == "fatal: https://***@github.com/o/r.git: 403"
    assert "ghp_supersecret" not in stream.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_text_logs_on_a_terminal() -> None:
    stream = io.StringIO()
    logs.setup("info", json_lines=False, stream=stream)
    logging.getLogger("reconciler.test").info("converged", extra={"cluster": "gpu", "writes": 3})
    assert stream.getvalue().split(" ", 1)[1] == "info    converged  cluster=gpu writes=3\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    shutil.copytree(SAMPLE, repo / "envs")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "landscape")
    return repo


def test_a_bad_revision_is_reported_and_the_good_one_stays(origin: Path, tmp_path: Path) -> None:
    controller = Controller(Settings(repo=str(origin), path="envs", workdir=tmp_path / "work"))
    controller.stop.set()  # the cluster workers exit at once: this test needs no cluster
    controller.check_source()
    good = _git(origin, "rev-parse", "HEAD")
    assert controller.status.revision == good and controller.desired is not None
    assert controller.desired.revision == good

    prod = origin / "envs" / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("gpu: 8", "gpu: lots"))
    _git(origin, "commit", "--quiet", "-am", "a schema error")
    bad = _git(origin, "rev-parse", "HEAD")
    controller.check_source()
    assert controller.status.revision == good and controller.desired.revision == good
    assert controller.status.bad_revision is not None
    assert controller.status.bad_revision["revision"] == bad
    [error] = controller.status.bad_revision["errors"]
    assert error.startswith("envs/environments/prod.yaml:15: spec.quota.gpu: 'lots' is not a whole")
    assert [tree.name for tree in (tmp_path / "work" / "trees").iterdir()] == [good]

    controller.check_source()  # the same bad head: not validated again
    assert controller.status.snapshot()["lastBadRevision"]["revision"] == bad

    prod.write_text(prod.read_text().replace("gpu: lots", "gpu: 2"))
    _git(origin, "commit", "--quiet", "-am", "fixed")
    fixed = _git(origin, "rev-parse", "HEAD")
    controller.check_source()
    assert controller.desired.revision == fixed
    assert controller.desired.landscape.environments["prod"].quota["requests.nvidia.com/gpu"] == "2"
    assert [tree.name for tree in (tmp_path / "work" / "trees").iterdir()] == [fixed]


def test_a_cluster_the_repository_does_not_describe_is_a_bad_revision(origin: Path, tmp_path: Path) -> None:
    controller = Controller(Settings(repo=str(origin), path="envs", cluster="edge", workdir=tmp_path / "work"))
    controller.stop.set()
    controller.check_source()
    assert controller.desired is None
    assert controller.status.bad_revision is not None
    assert controller.status.bad_revision["errors"] == ["--cluster edge: no such cluster in the repository; known: "
                                                        "gpu, shared"]


def test_an_unreachable_remote_is_reported_and_nothing_changes(tmp_path: Path) -> None:
    controller = Controller(Settings(repo=str(tmp_path / "nowhere"), workdir=tmp_path / "work"))
    controller.check_source()
    snapshot = controller.status.snapshot()
    assert "nowhere" in snapshot["source"]["lastFetchError"]
    assert controller.desired is None


def test_two_controllers_cannot_share_a_work_directory(tmp_path: Path) -> None:
    first = Controller(Settings(repo="unused", workdir=tmp_path / "work"))
    first._prepare_workdir()
    second = Controller(Settings(repo="unused", workdir=tmp_path / "work"))
    with pytest.raises(ReconcilerError, match="another reconciler uses the work directory"):
        second._prepare_workdir()
