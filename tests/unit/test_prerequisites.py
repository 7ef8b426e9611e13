"""What plan warns about for an agent: the operator's CRD on its cluster and the settings it cannot start without."""

from __future__ import annotations

from reconciler.config import load_landscape
from reconciler.policy import prerequisites
from tests.unit.conftest import SAMPLE_REPO, Repo

PRESENT = {prerequisites.OPERATOR_CRD: True}


def test_a_complete_agent_on_a_cluster_with_the_operator_has_no_warning() -> None:
    landscape = load_landscape(SAMPLE_REPO)
    assert all(prerequisites.warnings(t, landscape.platform, PRESENT) == [] for t in landscape.targets)


def test_a_missing_crd_is_a_warning_that_names_target_and_remedy() -> None:
    landscape = load_landscape(SAMPLE_REPO)
    target = next(t for t in landscape.targets if t.key == "gpu/ml-prod")
    [warning] = prerequisites.warnings(target, landscape.platform, {prerequisites.OPERATOR_CRD: False})
    assert warning.startswith("agent of environment 'prod' in gpu/ml-prod: CRD operations.core.polyaxon.com is "
                              "missing on cluster 'gpu'")
    assert "install Polyaxon's operator" in warning


def test_a_crd_that_cannot_be_checked_says_why() -> None:
    landscape = load_landscape(SAMPLE_REPO)
    target = landscape.targets[0]
    [warning] = prerequisites.warnings(target, landscape.platform, {prerequisites.OPERATOR_CRD: "forbidden (403)"})
    assert "cannot check for CRD operations.core.polyaxon.com" in warning and "forbidden (403)" in warning


def test_an_agent_without_instance_host_or_artifacts_store_is_warned_about(repo: Repo) -> None:
    """The small base repository has none of the three: each is named with what to set."""
    landscape = repo.landscape()
    target = landscape.targets[0]
    found = prerequisites.warnings(target, landscape.platform, PRESENT)
    assert [w.split(": ", 1)[1].split(",")[0] for w in found] == [
        "no spec.agent.instance", "the Platform has no spec.controlPlane.host", "no connection of kind artifacts-store"]
