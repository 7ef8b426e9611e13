"""The status page: the grid of environments x clusters, a view per target, and values from git or a cluster
always escaped (the page has no login and shows names, errors and revisions it does not control)."""

from __future__ import annotations

import re
import urllib.request
from datetime import UTC, datetime
from typing import Any

from reconciler.controller import statuspage
from reconciler.controller.http import Server
from reconciler.controller.status import Status
from reconciler.controller.status_model import SyncOutcome, TargetStatus

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'


def target(environment: str, state: str = "converged", **extra: Any) -> dict[str, Any]:
    return {"environment": environment, "state": state, "revision": "3f2a9c1d0e4b5a6b7c8d", "lastError": None,
            "lastSyncTime": "2026-12-01T20:57:00Z", "pendingChanges": 0, "driftCorrected": 0, "quota": {},
            "agent": {"state": "progressing", "ready": 0, "wanted": 2, "detail": "0/2 replicas available"},
            "objects": [], "changes": [], **extra}


def snapshot(clusters: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"state": "running", "revision": "3f2a9c1d0e4b5a6b7c8d", "lastBadRevision": None,
            "source": {"repository": "https://git.example.com/ml/envs.git", "branch": "main",
                       "head": "3f2a9c1d0e4b5a6b7c8d", "lastCheckTime": "2026-12-01T20:59:58Z"},
            "leader": {"isLeader": True}, "clusters": clusters, **extra}


def cluster(state: str, targets: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"state": state, "revision": None, "lastError": None, "lastSyncTime": None, "failures": 0,
            "nextRetryInSeconds": None, "targets": targets, **extra}


def test_the_grid_has_a_row_per_environment_and_a_column_per_cluster() -> None:
    shown = snapshot({
        "gpu": cluster("failed", {"ml-prod": target("prod", "failed", lastError="cannot reach https://gpu:6443")},
                       failures=3, nextRetryInSeconds=4.0),
        "shared": cluster("converged", {"ml-dev": target("dev", driftCorrected=2), "ml-staging": target("staging",
                                        "held", lastError="the change window of staging is closed")}),
    })
    code, page = statuspage.route("/", shown, NOW)
    assert code == 200
    assert re.findall(r'data-environment="([^"]+)"', page) == ["dev", "prod", "staging"]
    assert re.findall(r'<th data-cluster="([^"]+)"', page) == ["gpu", "shared"]
    states = dict(re.findall(r'data-namespace="([^"]+)" data-state="([^"]+)"', page))
    assert states == {"ml-prod": "failed", "ml-dev": "drifted", "ml-staging": "held"}
    assert "cannot reach https://gpu:6443" in page and "3 failed attempts, retry in 4s" in page
    assert "agent 0/2 ready · progressing" in page and "3f2a9c1d0e4b<" in page and "3m ago" in page
    assert '<meta http-equiv="refresh"' in page and "<script" not in page


def test_quota_bars_per_target_per_environment_and_in_total() -> None:
    prod = {"gpu": {"used": "3", "hard": "8"}, "cpu": {"used": "2200m", "hard": "64"}}
    shown = snapshot({"a": cluster("converged", {"ml-prod": target("prod", quota=prod)}),
                      "b": cluster("converged", {"ml-prod": target("prod", quota={"gpu": {"used": "1", "hard": "8"}}),
                                                 "ml-dev": target("dev", quota={"gpu": {"used": None, "hard": "2"}})})})
    page = statuspage.route("/", shown, NOW)[1]
    assert 'data-resource="gpu" data-used="3" data-hard="8"' in page and ">3 / 8<" in page
    usage = dict(re.findall(r'<tr data-usage="([^"]+)"[^>]*>(.*?)</tr>', page, re.S))
    assert ">4 / 16<" in usage["prod"] and ">? / 2<" in usage["dev"] and ">? / 18<" in usage["total"]
    assert "width:38%" in page  # 3 of 8


def test_every_value_from_git_or_a_cluster_is_escaped_on_both_views() -> None:
    shown = snapshot({HOSTILE: cluster("failed", {HOSTILE: target(HOSTILE, "failed", revision=HOSTILE,
                                                                  lastError=HOSTILE, objects=[HOSTILE],
                                                                  changes=[{"time": HOSTILE, "revision": HOSTILE,
                                                                            "action": HOSTILE, "object": HOSTILE}])},
                                          lastError=HOSTILE)},
                     lastBadRevision={"revision": "3f2a9c1d0e4b5a6b7c8d", "errors": [HOSTILE]})
    shown["source"]["repository"] = HOSTILE
    landscape = statuspage.route("/", shown, NOW)[1]
    detail_path = "/targets/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E"
    assert detail_path.replace('"', "&quot;") in landscape
    code, detail = statuspage.route(detail_path, shown, NOW)
    assert code == 200
    for page in (landscape, detail):
        assert "<script" not in page and 'alert("x")' not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_target_view_lists_objects_and_last_changes_and_an_unknown_target_is_404() -> None:
    changes = [{"time": "2026-12-01T20:58:00Z", "revision": "3f2a9c1d0e4b5a6b", "action": "update",
                "object": "ResourceQuota/ml-prod/environment-quota"}]
    shown = snapshot({"gpu": cluster("converged", {"ml-prod": target("prod", objects=["Namespace/ml-prod"],
                                                                     changes=changes)})})
    code, page = statuspage.route("/targets/gpu/ml-prod", shown, NOW)
    assert code == 200
    assert "<code>Namespace/ml-prod</code>" in page and "ResourceQuota/ml-prod/environment-quota" in page
    assert "2m ago" in page and ">update<" in page
    code, page = statuspage.route("/targets/gpu/ml-nothing", shown, NOW)
    assert code == 404 and "No environment target gpu/ml-nothing" in page


def test_the_controller_serves_the_page_with_no_script_allowed() -> None:
    status = Status("https://git.example.com/ml/envs.git", "main", "", "replica-a", leader_elect=False)
    status.synced("gpu", SyncOutcome("converged", "abc", 0.1, targets={"ml-prod": TargetStatus("prod", "converged",
                                                                                             "abc")}), 0, None)
    server = Server(status, "127.0.0.1:0", trigger=lambda: None, webhook_secret="hidden-secret", stale_after=60)
    server.start()
    try:
        with urllib.request.urlopen(f"http://{server.address}/", timeout=5) as response:
            page, headers = response.read().decode(), response.headers
        with urllib.request.urlopen(f"http://{server.address}/targets/gpu/ml-prod", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert 'data-namespace="ml-prod"' in page and "hidden-secret" not in page
