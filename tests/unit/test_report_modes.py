"""Reports for people and for GitHub: Markdown diff lines start with their sign (GitHub colours only those); apply
prints a summary per target unless -v; a dry run says how many objects the servers checked."""

from __future__ import annotations

import dataclasses
import io
import json

from reconciler.cli import output as cli_output
from reconciler.converge.results import ClusterResult, Entry, failure
from reconciler.kube.errors import Invalid
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef
from reconciler.report import text as report

QUOTA = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "ml-dev"}}


def _results() -> list[ClusterResult]:
    target = TargetPlan("shared", "ml-dev", "dev",
                        changes=(Change("create", ObjectRef("ResourceQuota", "ml-dev", "q"), desired=QUOTA),))
    return [ClusterResult("shared", targets=(target,))]


def test_markdown_diff_lines_start_with_their_sign() -> None:
    lines = report.markdown(_results()).splitlines()
    assert "+ ResourceQuota/ml-dev/q" in lines
    assert not [line for line in lines if line.startswith(" ") and line.strip().startswith("+")]


def test_apply_text_is_a_summary_unless_listed() -> None:
    summary = report.text(_results(), heading="Applied", listed=False)
    assert "ml-dev (dev):" in summary
    assert "ResourceQuota/ml-dev/q" not in summary
    assert "ResourceQuota/ml-dev/q" in report.text(_results(), heading="Applied", listed=True)
    results = _results()
    target = results[0].targets[0]
    conflict = Change("conflict", ObjectRef("ConfigMap", "ml-dev", "c"), desired=QUOTA,
                      reason="belongs to environment 'staging'")
    results[0].targets = (dataclasses.replace(target, changes=(*target.changes, conflict)),)
    assert "x ConfigMap/ml-dev/c\n        belongs to environment 'staging'" in report.text(results, listed=False)


def test_a_dry_run_says_how_many_objects_the_servers_checked() -> None:
    results = _results()
    results[0].dry_run_checked = (3, 36)
    line = cli_output.dry_run_checked(results)
    assert line.startswith("the API servers checked 3 of 36 object(s) to write (server-side dry run); the other 33 ")
    results[0].dry_run_checked = (36, 36)
    assert cli_output.dry_run_checked(results).startswith("the API servers checked all 36 object(s)")


def test_progress_shows_done_of_total_and_eta_every_few_seconds_only() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = cli_output.Progress(every_seconds=5.0, stream=out, clock=lambda: now[0])
    progress.start(100)
    for step in range(1, 41):
        now[0] = step * 0.5  # two changes a second
        progress(f"shared: created ConfigMap/ml-dev/c{step}")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # at 5 s, 10 s, 15 s and 20 s, not once per change
    assert lines[0] == "... 10/100 changes (10%), 2.0/s, about 45s left (last: shared: created ConfigMap/ml-dev/c10)"
    assert "\x1b" not in out.getvalue()


def test_json_carries_each_entry_with_the_servers_answer() -> None:
    """A script reads what apply did from typed entries: action, outcome, object, and the API server's status."""
    results = _results()
    ref = ObjectRef("ResourceQuota", "ml-dev", "q")
    refused = Invalid("shared", "apply ResourceQuota/ml-dev/q", 422, "spec.hard: Invalid value", "Invalid")
    results[0].entries = [Entry("create", "done", ref, "ml-dev"),
                          failure("update", str(refused), ObjectRef("LimitRange", "ml-dev", "l"), "ml-dev", refused)]
    entries = json.loads(report.as_json(results))["clusters"][0]["entries"]
    assert entries[0] == {"action": "create", "outcome": "done", "object": "ResourceQuota/ml-dev/q",
                          "target": "ml-dev", "message": "", "error": None}
    assert entries[1]["outcome"] == "failed" and entries[1]["object"] == "LimitRange/ml-dev/l"
    assert entries[1]["error"] == {"status": 422, "reason": "Invalid", "message": "spec.hard: Invalid value"}
    assert entries[1]["message"].startswith("cluster shared: apply ResourceQuota/ml-dev/q: spec.hard")
