"""`reconciler status`: the landscape as text from a controller's /status, and clear errors when it cannot be read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from reconciler.cli import main as cli
from reconciler.cli import status as status_cli
from reconciler.controller.http import Server
from reconciler.controller.status import Status
from reconciler.controller.status_model import SyncOutcome, TargetStatus
from reconciler.errors import ReconcilerError
from reconciler.report import status_text

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


@pytest.fixture
def controller() -> Iterator[Server]:
    status = Status("https://git.example.com/ml/envs.git", "main", "", "replica-a", leader_elect=False)
    status.fetched("3f2a9c1d0e4b5a6b")
    status.revision_valid("3f2a9c1d0e4b5a6b")
    prod = TargetStatus("prod", "converged", "3f2a9c1d0e4b5a6b", None, "2026-12-01T20:58:00Z",
                        quota={"gpu": {"used": "3", "hard": "8"}, "cpu": {"used": "2200m", "hard": "64"}},
                        agent={"state": "ready", "ready": 2, "wanted": 2, "detail": "2/2 replicas available"})
    status.synced("gpu", SyncOutcome("converged", "3f2a9c1d0e4b5a6b", 0.3, targets={"ml-prod": prod}), 0, None)
    status.synced("shared", SyncOutcome("failed", "3f2a9c1d0e4b5a6b", 0.0, errors=["cluster shared: cannot reach "
                                                                                    "https://shared:6443"]), 2, 4.0)
    server = Server(status, "127.0.0.1:0", trigger=lambda: None, webhook_secret=None, stale_after=60)
    server.start()
    yield server
    server.stop()


def test_text_shows_clusters_targets_errors_and_quota_totals(controller: Server) -> None:
    text = status_text.render(status_cli.from_url(f"http://{controller.address}"), NOW)
    lines = text.splitlines()
    assert lines[1] == "applying  3f2a9c1d0e4b   branch head 3f2a9c1d0e4b"
    assert next(li for li in lines if li.startswith("shared ")).split() == ["shared", "failed", "none", "never", "2"]
    assert next(li for li in lines if li.startswith("prod ")).split() == [
        "prod", "gpu", "ml-prod", "converged", "3f2a9c1d0e4b", "2m", "ago", "2/2", "ready", "2.2/64", "-", "3/8"]
    assert "  shared: cluster shared: cannot reach https://shared:6443" in lines
    assert next(li for li in lines if li.startswith("total ")).split() == ["total", "2.2/64", "-", "3/8"]


def test_exit_code_says_whether_everything_converged(controller: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--url", f"http://{controller.address}/status", "-o", "json"]) == cli.EXIT_PENDING
    shown = json.loads(capsys.readouterr().out)
    assert shown["clusters"]["gpu"]["targets"]["ml-prod"]["quota"]["gpu"] == {"used": "3", "hard": "8"}


def test_an_invalid_branch_head_is_shown_with_its_errors() -> None:
    snapshot = {"source": {"repository": "r", "branch": "main", "head": "bad0123456789"}, "revision": "good",
                "lastBadRevision": {"revision": "bad0123456789", "errors": ["prod.yaml:3: spec.quota.gpu: lots"]},
                "clusters": {}}
    text = status_text.render(snapshot, NOW)
    assert "INVALID   the branch head bad012345678 is not applied:" in text
    assert "          prod.yaml:3: spec.quota.gpu: lots" in text


def test_an_unreachable_or_wrong_url_says_what_to_do(controller: Server) -> None:
    with pytest.raises(ReconcilerError, match=r"cannot reach the controller at http://127\.0\.0\.1:9/status: .*"
                       r"Check --url, or read the clusters directly with --kubeconfig"):
        status_cli.from_url("http://127.0.0.1:9")
    with pytest.raises(ReconcilerError, match=r"/status/status answered 404 .*is --url the controller's address"):
        status_cli.from_url(f"http://{controller.address}/status/status/")
