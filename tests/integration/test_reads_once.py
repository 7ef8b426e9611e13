"""A no-op reads each kind once: every decision (plan, ownership, agent health) uses the objects already listed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.kube.api_sources import USER_AGENT
from testenv import audit, controlplane, users

from .support import OUR_RESOURCES, private_repo, run_cli

pytestmark = pytest.mark.integration

# Per cluster, whatever the number of targets: the cluster's identity (a Namespace's uid), the installation's
# guardrails (one ConfigMap), and by name each ClusterRole bound and each CRD an agent needs, since the
# reconciler's least-privilege role may read only those names (a LIST would need every ClusterRole).
NAMED_READS = {("GET", "namespaces", "resource"): 1, ("GET", "configmaps", "resource"): 1}


def test_a_no_op_apply_sends_one_list_per_kind_and_no_get_per_object(
    tmp_path: Path, kubeconfig: Path, control_plane: controlplane.TestEnv
) -> None:
    repo = private_repo(tmp_path, "ro")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    # Counted in each API server's audit log, for the reconciler's own credential and User-Agent: the cluster's
    # components (identity Leases, node heartbeats) and other clients are not what is measured.
    marks = {name: audit.mark(cluster.audit_log) for name, cluster in control_plane.clusters.items()}
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    for name, start in marks.items():
        sent = audit.requests_since(start, users.ADMIN, USER_AGENT)
        assert sent, f"cluster {name}: the audit log shows no request from the reconciler"
        lists: Counter[str] = Counter()
        for (verb, resource, _), n in sent.items():
            lists[resource] += n if verb == "LIST" else 0
        # ConfigMaps twice: the managed ones (agent settings), and the inventories in the system namespace.
        assert +lists == {kind: 2 if kind == "configmaps" else 1 for kind in OUR_RESOURCES}, (name, lists)
        gets = Counter({key: n for key, n in sent.items() if key[0] == "GET" and key[1] in OUR_RESOURCES})
        assert gets == NAMED_READS, f"cluster {name}: a no-op read managed objects one by one: {gets}"
        others: set[audit.Key] = {key for key in sent if key[1] not in OUR_RESOURCES}
        assert {key[1] for key in others} <= {"clusterroles", "customresourcedefinitions"}, (name, others)
        assert all(key[0] == "GET" for key in others), (name, others)
        assert not [key for key in sent if key[0] not in ("GET", "LIST")], f"cluster {name}: a no-op wrote {sent}"
