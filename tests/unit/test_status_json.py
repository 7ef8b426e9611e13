"""/status is built again only once something it shows changed, and then always shows the change."""

from __future__ import annotations

import json

from reconciler.controller.status import Status
from reconciler.controller.status_model import SyncOutcome, TargetStatus


def _status() -> Status:
    status = Status("repo", "main", "", "me", False)
    rows = {f"ns-{i}": TargetStatus("env", state="converged", revision="a" * 40) for i in range(3)}
    status.synced("east", SyncOutcome("converged", "a" * 40, 1.0, targets=rows), 0, None)
    return status


def test_status_text_is_reused_while_nothing_changes() -> None:
    status = _status()
    first = status.snapshot_json()
    assert status.snapshot_json() is first
    assert json.loads(first) == json.loads(json.dumps(status.snapshot()))


def test_every_change_is_shown_at_the_next_poll() -> None:
    status = _status()
    status.snapshot_json()
    status.progress("east")
    assert json.loads(status.snapshot_json())["clusters"]["east"]["writtenThisSync"] == 1
    status.revision_invalid("b" * 40, ["platform.yaml:3: wrong"])
    assert json.loads(status.snapshot_json())["lastBadRevision"]["revision"] == "b" * 40
    status.unreachable("east", "no route")
    assert json.loads(status.snapshot_json())["clusters"]["east"]["targets"]["ns-1"]["state"] == "failed"


def test_a_cluster_that_did_not_answer_a_revision_check_stays_failed_while_its_worker_tries() -> None:
    status = _status()
    status.unreachable("east", "cluster east: did not answer within 8s")
    status.converging("east", "b" * 40)
    shown = json.loads(status.snapshot_json())["clusters"]["east"]
    assert (shown["state"], shown["convergingRevision"]) == ("failed", "b" * 40)
    status.synced("east", SyncOutcome("converged", "b" * 40, 1.0), 0, None)
    status.converging("east", "c" * 40)
    assert json.loads(status.snapshot_json())["clusters"]["east"]["state"] == "converging"
