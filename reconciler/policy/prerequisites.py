"""What an agent needs that the reconciler does not converge, and the settings it cannot start without.

The Polyaxon agent creates its runs as ``Operation`` objects that Polyaxon's operator turns into pods; the operator
and its CRD are installed once per cluster (a cluster prerequisite, docs/topologies.md), not per environment. A
missing CRD, or a repository without the agent's instance, control plane host or artifacts store, does not stop the
rest of a target from converging: ``plan`` and ``apply`` warn, naming the target and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.config.model import Platform, Target

OPERATOR_CRD = "operations.core.polyaxon.com"
CRDS = (OPERATOR_CRD,)

# CRD name -> True (present), False (missing) or a reason it could not be checked (e.g. forbidden).
CrdState = Mapping[str, bool | str]


def warnings(target: Target, platform: Platform, crds: CrdState) -> list[str]:
    agent = target.environment.agent
    if agent is None:
        return []
    where = f"agent of environment {target.environment.name!r} in {target.key}"
    found: list[str] = []
    for crd in CRDS:
        state = crds.get(crd, True)
        if state is False:
            found.append(f"{where}: CRD {crd} is missing on cluster {target.cluster.name!r}, so its runs would never "
                         "start; install Polyaxon's operator there (a cluster prerequisite, see docs/topologies.md)")
        elif isinstance(state, str):
            found.append(f"{where}: cannot check for CRD {crd} on cluster {target.cluster.name!r}: {state}")
    if not agent.instance:
        found.append(f"{where}: no spec.agent.instance, so the agent cannot register; set it to the "
                     "<owner>.agents.<uuid> the control plane shows for this environment's agent")
    if not platform.control_plane_host:
        found.append(f"{where}: the Platform has no spec.controlPlane.host, so the agent would call localhost; "
                     "set it to the control plane's API URL")
    if agent.artifacts_store is None:
        found.append(f"{where}: no connection of kind artifacts-store, and Polyaxon's agent refuses to start "
                     "without one; add one with provider and schema")
    return found
