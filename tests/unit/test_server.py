"""The controller's HTTP endpoints over a real socket: probes, metrics, status and the signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from reconciler.controller import metrics
from reconciler.controller.http import Server
from reconciler.controller.status import Status
from reconciler.controller.status_model import SyncOutcome, TargetStatus
from reconciler.controller.webhook import signature_valid
from reconciler.errors import ReconcilerError

SECRET = "s3cret-for-the-webhook"


@pytest.fixture
def status() -> Status:
    return Status("https://git.example.com/ml/environments.git", "main", "", "replica-a", leader_elect=False)


@pytest.fixture
def triggered() -> threading.Event:
    return threading.Event()


@pytest.fixture
def server(status: Status, triggered: threading.Event) -> Iterator[Server]:
    running = Server(status, "127.0.0.1:0", trigger=triggered.set, webhook_secret=SECRET, stale_after=60)
    running.start()
    yield running
    running.stop()


def call(server: Server, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://{server.address}{path}", data=body, headers=headers or {},
                                     method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def exposition(status: Status) -> str:
    return metrics.exposition(metrics.registry(status.metrics, status.gauges))


def converged(revision: str) -> SyncOutcome:
    target = TargetStatus("prod", "converged", revision, None, "2026-01-01T00:00:00Z")
    return SyncOutcome("converged", revision, 0.7, applied=3, pruned=1, writes=5, targets={"ml-prod": target})


def test_signature_is_github_style_and_compared_exactly() -> None:
    body = b'{"ref": "refs/heads/main"}'
    header = sign(body)["X-Hub-Signature-256"]
    assert signature_valid(SECRET, body, header)
    assert not signature_valid(SECRET, body + b" ", header)
    assert not signature_valid("another secret", body, header)
    assert not signature_valid(SECRET, body, header.replace("sha256=", "sha1="))
    assert not signature_valid(SECRET, body, None)


def test_ready_only_after_a_successful_sync(server: Server, status: Status) -> None:
    assert call(server, "/healthz") == (200, "ok\n")
    assert call(server, "/readyz")[0] == 503
    status.synced("gpu", SyncOutcome("failed", "abc", 0.1, errors=["cluster gpu: cannot reach"]), 1, 2.0)
    assert call(server, "/readyz")[0] == 503
    status.synced("gpu", converged("abc"), 0, None)
    assert call(server, "/readyz") == (200, "ready\n")


def test_a_standby_replica_is_ready(server: Server) -> None:
    standby = Status("repo", "main", "", "replica-b", leader_elect=True)
    server.status = standby
    assert call(server, "/readyz")[0] == 200


def test_healthz_fails_when_the_source_loop_stops_beating(status: Status, triggered: threading.Event) -> None:
    stuck = Server(status, "127.0.0.1:0", trigger=triggered.set, webhook_secret=None, stale_after=0.0)
    stuck.start()
    try:
        assert call(stuck, "/healthz")[0] == 500
    finally:
        stuck.stop()


def test_status_reports_clusters_targets_and_the_last_bad_revision(server: Server, status: Status) -> None:
    status.revision_valid("good")
    status.synced("gpu", converged("good"), 0, None)
    status.synced("shared", SyncOutcome("failed", "good", 5.0, errors=["cluster shared: cannot reach"]), 2, 4.0)
    status.revision_invalid("bad", ["environments/prod.yaml:15: spec.quota.gpu: 'lots' is not a whole number"])
    code, body = call(server, "/status")
    shown = json.loads(body)
    assert code == 200
    assert shown["revision"] == "good"
    assert shown["lastBadRevision"]["revision"] == "bad"
    assert shown["lastBadRevision"]["errors"] == ["environments/prod.yaml:15: spec.quota.gpu: 'lots' is not a "
                                                  "whole number"]
    gpu = shown["clusters"]["gpu"]
    assert (gpu["state"], gpu["revision"], gpu["lastError"]) == ("converged", "good", None)
    assert gpu["targets"]["ml-prod"] == {"environment": "prod", "state": "converged", "revision": "good",
                                         "lastError": None, "lastSyncTime": "2026-01-01T00:00:00Z",
                                         "pendingChanges": 0, "driftCorrected": 0, "quota": {}, "agent": None,
                                         "objects": [], "changes": []}
    shared = shown["clusters"]["shared"]
    assert (shared["state"], shared["failures"], shared["nextRetryInSeconds"]) == ("failed", 2, 4.0)
    assert shared["lastError"] == "cluster shared: cannot reach"
    assert shown["source"]["repository"] == "https://git.example.com/ml/environments.git"


def test_metrics_are_prometheus_text(server: Server, status: Status) -> None:
    status.synced("gpu", converged("abc123"), 0, None)
    status.synced("gpu", SyncOutcome("converged", "abc123", 0.2, applied=1, drift=1, writes=1,
                                     targets=converged("abc123").targets), 0, None)
    code, text = call(server, "/metrics")
    assert code == 200
    lines = set(text.splitlines())
    assert 'reconciler_objects_applied_total{cluster="gpu"} 4.0' in lines
    assert 'reconciler_objects_pruned_total{cluster="gpu"} 1.0' in lines
    assert 'reconciler_drift_corrected_total{cluster="gpu"} 1.0' in lines
    assert 'reconciler_reconciles_total{cluster="gpu",result="success"} 2.0' in lines
    assert 'reconciler_applied_revision{cluster="gpu",environment="prod",namespace="ml-prod",revision="abc123"} 1.0' \
        in lines
    assert 'reconciler_reconcile_duration_seconds_bucket{cluster="gpu",le="0.25"} 1.0' in lines
    assert 'reconciler_reconcile_duration_seconds_bucket{cluster="gpu",le="+Inf"} 2.0' in lines
    assert 'reconciler_reconcile_duration_seconds_count{cluster="gpu"} 2.0' in lines
    assert "# TYPE reconciler_reconcile_duration_seconds histogram" in lines
    assert "reconciler_leader 1.0" in lines


def test_every_metric_says_what_it_is_and_the_process_is_measured(server: Server, status: Status) -> None:
    status.converging("gpu", "abc123")
    _, text = call(server, "/metrics")
    typed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    described = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")}
    assert typed and typed == described, f"no # HELP for {sorted(typed - described)}"
    for line in text.splitlines():
        if line.startswith("reconciler_") and not line.startswith("reconciler_reconcile_duration_seconds"):
            name = line.split("{")[0].split(" ")[0]
            assert name in described or name.removesuffix("_total") + "_total" in described, line
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples["process_resident_memory_bytes"]) > 0
    assert float(samples["process_cpu_seconds_total"]) > 0
    assert samples['reconciler_write_requests_total{cluster="gpu",resource="deployments"}'] == "0.0"


def test_two_servers_in_one_process_share_no_series(triggered: threading.Event) -> None:
    first = Status("https://git.example.com/a.git", "main", "", "replica-a", leader_elect=False)
    second = Status("https://git.example.com/b.git", "main", "", "replica-b", leader_elect=False)
    servers = [Server(state, "127.0.0.1:0", trigger=triggered.set, webhook_secret=None, stale_after=60)
               for state in (first, second)]
    for running in servers:
        running.start()
    try:
        first.checked("abc")
        first.checked("abc")
        assert "reconciler_git_checks_total 2.0" in call(servers[0], "/metrics")[1].splitlines()
        assert "reconciler_git_checks_total 0.0" in call(servers[1], "/metrics")[1].splitlines()
    finally:
        for running in servers:
            running.stop()


def test_the_webhook_needs_a_valid_signature(server: Server, triggered: threading.Event) -> None:
    body = b'{"ref": "refs/heads/main"}'
    assert call(server, "/hooks/git", body)[0] == 401
    assert call(server, "/hooks/git", body, sign(body, "wrong"))[0] == 401
    assert not triggered.is_set()
    assert call(server, "/hooks/git", body, sign(body)) == (202, "fetch triggered\n")
    assert triggered.is_set()
    assert call(server, "/hooks/other", body, sign(body))[0] == 404


def test_without_a_secret_the_webhook_is_disabled(status: Status, triggered: threading.Event) -> None:
    open_server = Server(status, "127.0.0.1:0", trigger=triggered.set, webhook_secret=None, stale_after=60)
    open_server.start()
    try:
        code, text = call(open_server, "/hooks/git", b"{}", sign(b"{}"))
        assert code == 403 and "disabled" in text
        assert not triggered.is_set()
    finally:
        open_server.stop()


def test_label_values_are_escaped(status: Status) -> None:
    status.count("reconciler_errors_total", cluster='we"ird\\name')
    assert 'reconciler_errors_total{cluster="we\\"ird\\\\name"} 1.0' in exposition(status).splitlines()


def test_a_target_that_fails_keeps_the_revision_it_runs(status: Status) -> None:
    status.synced("gpu", converged("old"), 0, None)
    failed = TargetStatus("prod", "failed", None, "cluster gpu: apply ResourceQuota ml-prod/environment-quota: denied")
    status.synced("gpu", SyncOutcome("failed", "new", 0.1, errors=["denied"], targets={"ml-prod": failed}), 1, 1.0)
    shown = status.snapshot()["clusters"]["gpu"]["targets"]["ml-prod"]
    assert (shown["state"], shown["revision"]) == ("failed", "old")
    assert 'revision="old"' in exposition(status)


def test_an_address_in_use_is_a_clear_error(server: Server, status: Status, triggered: threading.Event) -> None:
    with pytest.raises(ReconcilerError, match="cannot listen on"):
        Server(status, server.address, trigger=triggered.set, webhook_secret=None, stale_after=60)


def raw_post(server: Server, headers: str) -> str:
    """A webhook request whose announced body is never sent: the status line of the answer."""
    host, port = server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST /hooks/git HTTP/1.1\r\nHost: t\r\n{headers}\r\n".encode())
        return sock.recv(4096).decode().split("\r\n", 1)[0]


@pytest.mark.parametrize(("headers", "status_line"), [
    ("Content-Length: 100000\r\n", "HTTP/1.0 401 Unauthorized"),
    ("Content-Length: 100000\r\nX-Hub-Signature-256: sha1=abc\r\n", "HTTP/1.0 401 Unauthorized"),
    ("Content-Length: -1\r\nX-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n", "HTTP/1.0 400 Bad Request"),
    ("Content-Length: many\r\nX-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n", "HTTP/1.0 400 Bad Request"),
    ("Content-Length: 99999999\r\nX-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n",
     "HTTP/1.0 413 Request Entity Too Large"),
])
def test_a_webhook_call_is_refused_before_its_body_is_read(server: Server, status: Status, headers: str,
                                                           status_line: str) -> None:
    assert raw_post(server, headers) == status_line


def test_leadership_is_per_cluster_and_a_lost_lease_shows_why(status: Status) -> None:
    status.set_leader(True, "replica-a", cluster="shared")
    status.set_leader(False, None, cluster="gpu", error="cluster gpu: get Lease: cannot reach it")
    snapshot = status.snapshot()
    assert snapshot["leader"]["isLeader"] is True
    assert snapshot["leader"]["clusters"]["gpu"] == {"isLeader": False, "holder": None,
                                                     "error": "cluster gpu: get Lease: cannot reach it"}
    assert snapshot["clusters"]["gpu"]["state"] == "standby"
    assert snapshot["clusters"]["gpu"]["lastError"] == "cluster gpu: get Lease: cannot reach it"


def test_readiness_fails_when_every_cluster_refuses_the_credentials_for_a_while(status: Status) -> None:
    status.synced("shared", converged("abc"), 0, None)
    status.synced("gpu", converged("abc"), 0, None)
    status.auth_grace = 10
    status.authentication("shared", time.monotonic() - 11)
    assert status.ready, "one cluster still accepts the credentials"
    status.authentication("gpu", time.monotonic() - 5)
    assert status.ready, "not for long enough yet"
    status.authentication("gpu", time.monotonic() - 11)
    assert not status.ready
    assert "refused the reconciler's credentials (HTTP 401) for over 10s" in status.not_ready_reason()
    status.authentication("gpu", None)
    assert status.ready
